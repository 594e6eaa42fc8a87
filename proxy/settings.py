"""All configuration in one validated object: ``SSTAR_*`` environment, an optional YAML file, flags.

Precedence (highest first): explicit overrides (``sstar-proxy serve`` flags, or keyword arguments
in tests) > ``SSTAR_*`` environment variables > the YAML file named by ``--config`` /
``SSTAR_CONFIG`` > defaults. Nothing here reads the environment at import time:
``Settings.load()`` does, when called. Validators fail fast on unsafe or contradictory
combinations instead of surprising a caller later.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from proxy.alias import ALIAS_PREFIX
from proxy.errors import ConfigError
from proxy.local_model.build import Isa
from proxy.local_model.catalog import get_model_spec
from proxy.local_model.paths import default_cache_dir
from proxy.scaling.speed import PROFILES, UpstreamKind, UpstreamProfile
from proxy.scaling.types import JudgeStyle, Mode, ScalingParams, SelectionMode

CONFIG_ENV = "SSTAR_CONFIG"
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9a-z-]+$")
_ORIGIN = re.compile(r"^https?://(?:[a-z0-9.\-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$")
UNFORWARDABLE_HEADERS = frozenset(
    {
        # the client's credentials are for the proxy; the proxy adds the upstream's own
        *("authorization", "api-key", "x-api-key", "cookie", "proxy-authorization"),
        # framing and hop-by-hop: the proxy's HTTP client writes its own
        *("host", "content-length", "transfer-encoding", "accept-encoding", "connection"),
        *("keep-alive", "te", "trailer", "upgrade", "proxy-connection"),
    }
)
"""Names ``SSTAR_FORWARD_HEADERS`` may not list (nor ``x-sstar-*``, the proxy's own controls)."""
_SSTAR = ScalingParams()
"""The engine's defaults: every S* setting below defaults to them (one default per knob)."""


PUBLIC_BIND_WITHOUT_KEYS = (
    "host={host!r} is reachable from other machines, and SSTAR_ENVIRONMENT=production refuses "
    "that without client keys (anyone reaching the port could spend the upstream and run code "
    "in the sandbox): set SSTAR_API_KEYS, or bind a loopback address (SSTAR_HOST=127.0.0.1)"
)


def is_loopback_host(host: str) -> bool:
    """Whether a server bound to ``host`` is reachable from this machine only (127.0.0.0/8,
    ``::1``, ``localhost``). Anything else, a name included, may be reachable from others."""
    host = host.strip()
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


class ModelRoute(BaseModel):
    """One public model name served through litellm (``models:`` in the YAML file).

    ``model`` is any litellm model id (``anthropic/...``, ``hosted_vllm/...``); the key is read
    from the environment variable named by ``api_key_env`` so secrets never sit in the file.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(min_length=1)
    api_base: str | None = None
    api_key_env: str | None = None

    def api_key(self) -> str | None:
        """The key from the named environment variable, read when a request is made."""
        return os.environ.get(self.api_key_env) if self.api_key_env else None


LocalModelName = Literal["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]
"""The embedded models (``proxy.local_model.catalog.MODELS``)."""


def _is_loopback(host: str) -> bool:
    """A worker on this machine (``localhost``, 127.0.0.0/8, ``::1``) may run without a token."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Every knob of the proxy; see the module docstring for where values come from."""

    model_config = SettingsConfigDict(
        env_prefix="SSTAR_",
        extra="forbid",
        validate_default=True,
        yaml_file=None,
        # NOTE: settings carry secrets (keys, the Redis URL): errors name the field, not the value.
        hide_input_in_errors=True,
    )

    # --- upstream ---------------------------------------------------------------------------
    upstream_api_base: str | None = None
    upstream_api_key: SecretStr | None = None
    models: dict[str, ModelRoute] = Field(default_factory=dict)
    request_timeout_s: float = Field(600.0, gt=0, le=3600)
    connect_timeout_s: float = Field(10.0, gt=0, le=120)
    upstream_retries: int = Field(2, ge=0, le=10)
    upstream_retry_backoff_s: float = Field(0.5, ge=0, le=30)
    upstream_retry_max_wait_s: float = Field(20.0, ge=0, le=300)
    # Pass-through `n` on an upstream that ignores it: at most this many extra n=1 calls per
    # request (proxy.api.fanout); an `n` needing more is a 400 naming `n`.
    max_fanout: int = Field(16, ge=0, le=128)
    # llama.cpp's server reports the usage of ONE choice when n > 1; with this set, S* counts
    # every choice's tokens with the server's own /tokenize endpoint (honest usage sums).
    upstream_is_llama_cpp: bool = False
    # What the upstream is, for S*'s plans and defaults (proxy.scaling.speed.PROFILES): unset,
    # llama_cpp when upstream_is_llama_cpp, vllm for any other OpenAI-compatible base, hosted
    # for mapped models only; the embedded model sets "embedded".
    upstream_kind: UpstreamKind | None = None
    # How /v1/responses reaches the OpenAI-compatible upstream (proxy.api.responses): "relay"
    # forwards it byte for byte (vLLM, OpenAI serve it), "translate" turns it into a chat
    # completion (litellm's bridge); "auto" translates for llama.cpp (the embedded model, or
    # upstream_is_llama_cpp / kind llama_cpp) and relays otherwise. Mapped models go through
    # litellm, which knows which providers serve the Responses API; "translate" forces the
    # bridge for them too.
    upstream_responses: Literal["auto", "relay", "translate"] = "auto"

    # --- serving ----------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    environment: Literal["development", "production"] = "development"
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # --- shared deployments: who reads traces, what reaches the upstream (README "Security") --
    # With no api_keys, traces are served to loopback clients only unless this is set.
    public_traces: bool = False
    # Keys the HMAC of client keys (run sharing, trace owners). Unset: random per process; set it
    # when several replicas must read each other's traces.
    trace_secret: SecretStr | None = None
    # How long the signed link to a run's trace page (x-sstar-trace-url) stays valid; it grants
    # that one run (and its owner's runs page) to whoever holds it. 0 issues and honours none.
    trace_link_ttl_s: float = Field(3600.0, ge=0, le=7 * 24 * 3600)
    # Client headers forwarded upstream besides the built-in allowlist (relay.forward_headers).
    forward_headers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # The connection edge (proxy/server): the request line and headers together are capped
    # (431 before they are buffered); a request's headers, then its body, must arrive within
    # the read timeout each (408), however the client trickles them; on SIGTERM in-flight
    # requests get the drain timeout to finish before they are ended (503 / error event).
    max_header_bytes: int = Field(64 * 1024, ge=1024, le=16 * 1024 * 1024)
    client_read_timeout_s: float = Field(30.0, gt=0, le=3600)
    drain_timeout_s: float = Field(30.0, ge=0, le=3600)
    # --- operations (README "Operations"): metrics and browser clients -----------------------
    # GET /metrics needs a client key (when api_keys are set) unless this opens it to scrapers.
    metrics_public: bool = False
    # Origins allowed to call the proxy from a browser (CORS), comma-separated, or "*" for any;
    # empty (the default): no CORS at all.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # --- S* (defaults from ScalingParams; server values cap per-request ones) ----------------
    sstar_mode: Mode = "auto"
    num_samples: int = Field(_SSTAR.samples, ge=1, le=64)
    max_samples: int = Field(16, ge=1, le=64)
    debug_rounds: int = Field(_SSTAR.rounds, ge=0, le=16)
    max_rounds: int = Field(4, ge=0, le=16)
    selection: SelectionMode = _SSTAR.selection
    temperature: float = Field(_SSTAR.temperature, ge=0, le=2)
    # Sample the first candidate at temperature 0, the rest at `temperature`: the model's most
    # likely answer is always a candidate and wins ties (proxy.scaling.sampling).
    greedy_sample: bool = _SSTAR.greedy_sample
    # How the tournament's judge answers: "reasoned" works the answer out in text and ends with
    # a letter; "scored" answers with one letter and compares the letters' probabilities across
    # both program orders (for small models whose reasoned verdicts follow the position; the
    # embedded 0.5B model uses it unless this is set: proxy.cli.embedded_settings).
    judge: JudgeStyle = _SSTAR.judge
    max_total_tokens: int | None = Field(_SSTAR.max_total_tokens, ge=1)
    deadline_s: float = Field(_SSTAR.deadline_s, gt=0)
    max_deadline_s: float = Field(600.0, gt=0)
    aux_model: str | None = _SSTAR.aux_model
    on_scaling_failure: Literal["passthrough", "error"] = "passthrough"
    sandbox_backend: Literal["bubblewrap", "local"] = "bubblewrap"
    run_store_size: int = Field(256, ge=0)
    max_concurrent_runs: int = Field(4, ge=1)
    keepalive_interval_s: float = Field(10.0, gt=0, le=15)

    # --- remote sandbox workers (`python -m sandbox serve`; README "Sandbox workers") ---------
    # Base URLs, comma-separated: set, S* runs programs on these workers (sandbox.RemoteSandbox)
    # instead of a local bubblewrap sandbox. The token is the workers' shared secret.
    sandbox_urls: Annotated[list[str], NoDecode] = Field(default_factory=list, max_length=64)
    sandbox_token: SecretStr | None = None

    # --- shared state between replicas (README "Replicas and Redis") --------------------------
    # Unset: one process keeps its runs, traces and capacity in memory (the default). Set, every
    # replica pointing at the same Redis shares them (proxy.cluster). A secret: it may carry a
    # password, so it is never logged. Every key starts with the prefix (one Redis, many proxies).
    redis_url: SecretStr | None = None
    redis_prefix: str = Field("sstar:", min_length=1, max_length=64, pattern=r"^[A-Za-z0-9:_.-]+$")
    # How long Redis keeps a finished run's trace (seconds; the replica that made it also keeps
    # it in memory, among its last run_store_size). Redis holds at most run_store_size traces.
    trace_ttl_s: float = Field(86400.0, gt=0, le=30 * 86400)

    # --- embedded local model ---------------------------------------------------------------
    local_model: LocalModelName = "qwen2.5-coder-0.5b"
    # A second embedded model for input synthesis and the judge (S*'s auxiliary model), served
    # by its own llama-server: a stronger judge next to a fast sampler. None: one model does all.
    local_aux_model: LocalModelName | None = None
    local_model_threads: int | None = Field(None, ge=1)
    local_model_isa: Isa = "auto"
    cache_dir: Path = Field(default_factory=default_cache_dir)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_api_keys(cls, value: object) -> object:
        """``SSTAR_API_KEYS=k1,k2``: comma-separated, blanks ignored (empty = no client auth)."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trace_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("forward_headers", mode="before")
    @classmethod
    def _split_header_names(cls, value: object) -> object:
        """``SSTAR_FORWARD_HEADERS=x-a,X-B``: comma-separated header names, case-insensitive."""
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return [part.strip().lower() if isinstance(part, str) else part for part in value]
        return value

    @field_validator("forward_headers")
    @classmethod
    def _forwardable(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not an HTTP header name")
            if name in UNFORWARDABLE_HEADERS or name.startswith("x-sstar-"):
                raise ValueError(f"{name!r} is never forwarded (credentials, framing, or ours)")
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """``SSTAR_CORS_ORIGINS=https://a.example,http://localhost:3000`` or ``*``."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        """Origins as browsers send them: scheme and host (and port), lower case, no path."""
        if "*" in value:
            if len(value) > 1:
                raise ValueError("'*' allows every origin; list it alone")
            return value
        origins = [origin.lower().removesuffix("/") for origin in value]
        for origin in origins:
            if not _ORIGIN.match(origin):
                raise ValueError(f"{origin!r} is not an origin such as https://app.example:8443")
        return origins

    @field_validator("upstream_api_base")
    @classmethod
    def _normalise_api_base(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL, e.g. http://host:8000/v1")
        return value

    @field_validator("models")
    @classmethod
    def _no_alias_names(cls, value: dict[str, ModelRoute]) -> dict[str, ModelRoute]:
        for name in value:
            if name.startswith(ALIAS_PREFIX):
                raise ValueError(f"model name {name!r} must not start with {ALIAS_PREFIX!r}")
        return value

    @field_validator("sandbox_urls", mode="before")
    @classmethod
    def _split_sandbox_urls(cls, value: object) -> object:
        """``SSTAR_SANDBOX_URLS=http://w1:8300,http://w2:8300``: comma-separated, blanks ignored."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("sandbox_urls")
    @classmethod
    def _worker_urls(cls, value: list[str]) -> list[str]:
        urls: list[str] = []
        for url in value:
            base = url.strip().rstrip("/")
            parsed = urlsplit(base)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ValueError(f"{url!r} is not an http(s) base URL, e.g. http://worker:8300")
            if parsed.query or parsed.fragment:
                raise ValueError(f"{url!r}: a base URL has no query or fragment")
            if base not in urls:
                urls.append(base)
        return urls

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            url = value.get_secret_value().strip()
            if url and urlsplit(url).scheme not in ("redis", "rediss", "unix"):
                # NOTE: the message never repeats the URL: it may hold a password.
                raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("sandbox_token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < 16:
            raise ValueError("must be at least 16 characters (e.g. `openssl rand -hex 32`)")
        return value

    @model_validator(mode="after")
    def _check_sandbox_workers(self) -> Settings:
        if not self.sandbox_urls:
            return self
        if "sandbox_backend" in self.model_fields_set and self.sandbox_backend == "local":
            raise ValueError("sandbox_backend='local' contradicts sandbox_urls: choose one")
        remote = [u for u in self.sandbox_urls if not _is_loopback(urlsplit(u).hostname or "")]
        if remote and self.sandbox_token is None:
            raise ValueError(
                f"sandbox_token is required for workers beyond this machine ({remote[0]}): "
                "they refuse to serve without one"
            )
        return self

    @model_validator(mode="after")
    def _check_replicas(self) -> Settings:
        if self.redis_url_value() is not None and self.trace_secret is None:
            # NOTE: never the URL in the message: it may hold a password.
            raise ValueError(
                "redis_url is set but trace_secret is not: replicas sharing Redis must agree on "
                "who a client is (runs and traces are keyed by a hash of the client key with "
                "SSTAR_TRACE_SECRET); set the same SSTAR_TRACE_SECRET on every replica "
                "(16+ characters, e.g. `openssl rand -hex 32`)"
            )
        return self

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        if self.sandbox_backend == "local" and self.environment == "production":
            raise ValueError(
                "sandbox_backend='local' is not a security boundary; refused in production"
            )
        public = not is_loopback_host(self.host)
        if self.environment == "production" and public and not self.api_keys:
            raise ValueError(PUBLIC_BIND_WITHOUT_KEYS.format(host=self.host))
        if self.num_samples > self.max_samples:
            raise ValueError(f"num_samples={self.num_samples} exceeds max_samples")
        if self.debug_rounds > self.max_rounds:
            raise ValueError(f"debug_rounds={self.debug_rounds} exceeds max_rounds")
        if self.deadline_s > self.max_deadline_s:
            raise ValueError(f"deadline_s={self.deadline_s} exceeds max_deadline_s")
        return self

    @property
    def has_upstream(self) -> bool:
        """True when at least one model can be served (a base URL or a mapped model)."""
        return self.upstream_api_base is not None or bool(self.models)

    def upstream_profile(self) -> UpstreamProfile:
        """What the upstream is (``upstream_kind``, else inferred from how it is configured).

        The embedded model's speed is known in advance: its profile takes the served model's.
        """
        if self.upstream_kind == "embedded":
            speed = get_model_spec(self.local_model).decode_tps
            return dataclasses.replace(PROFILES["embedded"], decode_tps=speed)
        if self.upstream_kind is not None:
            return PROFILES[self.upstream_kind]
        if self.upstream_is_llama_cpp:
            return PROFILES["llama_cpp"]
        return PROFILES["vllm" if self.upstream_api_base else "hosted"]

    def scaling_defaults(self) -> ScalingParams:
        """The S* parameters of a request that sets no control of its own.

        N and the deadline, unless set here, are the upstream kind's (``upstream_profile``),
        capped by ``max_samples`` and ``max_deadline_s``.
        """
        profile = self.upstream_profile()
        explicit = self.model_fields_set
        samples = self.num_samples if "num_samples" in explicit else profile.default_samples
        deadline = self.deadline_s if "deadline_s" in explicit else profile.default_deadline_s
        return dataclasses.replace(
            _SSTAR,
            samples=min(samples, self.max_samples),
            rounds=self.debug_rounds,
            selection=self.selection,
            temperature=self.temperature,
            max_total_tokens=self.max_total_tokens,
            # NOTE: a run ends by the request timeout too (proxy.tasking.build_params caps the
            # requests' own deadlines the same way).
            deadline_s=min(deadline, self.max_deadline_s, self.request_timeout_s),
            aux_model=self.aux_model,
            judge=self.judge,
            one_sample_per_call=self.upstream_is_llama_cpp,
            greedy_sample=self.greedy_sample,
        )

    def sandbox_token_value(self) -> str | None:
        """The workers' token in clear, for the one place that sends it (``RemoteSandbox``)."""
        token = self.sandbox_token
        return token.get_secret_value().strip() if token is not None else None

    def redis_url_value(self) -> str | None:
        """``SSTAR_REDIS_URL`` in clear, for the one place that connects (``proxy.cluster``)."""
        url = self.redis_url
        return url.get_secret_value().strip() or None if url is not None else None

    def client_keys(self) -> tuple[bytes, ...]:
        """Client keys as bytes, ready for constant-time comparison."""
        return tuple(key.get_secret_value().encode() for key in self.api_keys)

    def trace_secret_bytes(self) -> bytes | None:
        """``SSTAR_TRACE_SECRET`` as bytes (``None``: the app draws a random one per process)."""
        secret = self.trace_secret
        return secret.get_secret_value().encode() if secret is not None else None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # NOTE: no .env / secrets-dir sources: configuration is explicit (env, YAML, flags).
        return init_settings, env_settings, YamlConfigSettingsSource(settings_cls)

    @classmethod
    def load(cls, config_file: Path | str | None = None, **overrides: Any) -> Settings:
        """Build settings from overrides, ``SSTAR_*`` env and the YAML file (flag, then env var).

        Overrides whose value is ``None`` are ignored so unset CLI flags do not mask env values.
        """
        given = {key: value for key, value in overrides.items() if value is not None}
        path = config_file or os.environ.get(CONFIG_ENV) or None
        if path is None:
            return cls(**given)
        file = Path(path).expanduser()
        if not file.is_file():
            raise ConfigError(f"config file not found: {file}")
        # A throwaway subclass binds the file path without any global state.
        bound = type(
            cls.__name__, (cls,), {"model_config": {**cls.model_config, "yaml_file": file}}
        )
        return cast("Settings", bound(**given))
