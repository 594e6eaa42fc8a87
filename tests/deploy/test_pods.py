"""What each pod of deploy/k8s runs, and with which privileges, checked against the code.

The sandbox workers need exactly what bubblewrap needs to build its namespaces (README
"Deploying on Kubernetes"), the proxy and Redis need nothing; the embedded variant's settings
must match what the Dockerfile's `embedded` target built.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest

from sandbox.bubblewrap import BubblewrapSandbox
from tests.deploy.manifests import ROOT, VARIANTS, Rendering, container_port, env_entry

DOCKERFILE = ROOT / "Dockerfile"
WORKER_COMMAND = ["python", "-m", "sandbox", "serve", "--host", "0.0.0.0", "--port"]  # noqa: S104


@pytest.fixture(scope="module", params=VARIANTS)
def rendering(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    return Rendering.of(request.param, tmp_path_factory.mktemp("variant"))


def _security(pod: dict[str, Any], container: dict[str, Any], field: str) -> Any:
    """A container's security setting, else the pod's (the container's wins in Kubernetes)."""
    return container.get("securityContext", {}).get(
        field, pod.get("securityContext", {}).get(field)
    )


def test_no_pod_gets_service_links_or_an_api_token(rendering):
    # NOTE: a Service named sstar-sandbox would put SSTAR_SANDBOX_PORT=tcp://... into every
    # pod's environment, which the worker reads as its own port setting.
    for workload, pod in rendering.pod_specs():
        name = workload["metadata"]["name"]
        assert pod["enableServiceLinks"] is False, name
        assert pod["automountServiceAccountToken"] is False, name
        assert not any(pod.get(f) for f in ("hostNetwork", "hostPID", "hostIPC")), name


def test_the_proxy_and_redis_run_unprivileged(rendering):
    unprivileged = [
        (workload["metadata"]["name"], pod, container)
        for workload, pod in rendering.pod_specs()
        if workload["metadata"]["name"] != "sstar-sandbox"
        for container in pod["containers"]
    ]
    # the bundled Redis is gone with components/external-redis
    assert {name for name, _, _ in unprivileged} >= {"sstar-proxy"}
    for _, pod, container in unprivileged:
        assert _security(pod, container, "runAsNonRoot") is True
        assert _security(pod, container, "seccompProfile") == {"type": "RuntimeDefault"}
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_the_sandbox_worker_runs_the_fixed_command_through_its_entrypoint(rendering):
    pod = rendering.get("Deployment", "sstar-sandbox")["spec"]["template"]["spec"]
    (worker,) = pod["containers"]
    assert worker["image"] == "sstar-proxy"  # one image for both roles
    mount = next(m for m in worker["volumeMounts"] if m["name"] == "entrypoint")
    volume = next(v for v in pod["volumes"] if v["name"] == "entrypoint")
    script = worker["command"][-1]
    assert worker["command"] == ["sh", f"{mount['mountPath']}/sandbox-entrypoint.sh"]
    assert (
        script.rpartition("/")[2] in rendering.get("ConfigMap", volume["configMap"]["name"])["data"]
    )
    args = worker["args"]
    assert args[: len(WORKER_COMMAND)] == WORKER_COMMAND
    assert container_port(worker, int(args[len(WORKER_COMMAND)])) == 8300
    # the default would be os.cpu_count(): the node's cores, not the pod's request
    workers = int(args[args.index("--workers") + 1])
    assert workers <= float(worker["resources"]["requests"]["cpu"])


def test_the_sandbox_worker_gets_what_bubblewrap_needs_and_no_more(rendering):
    pod = rendering.get("Deployment", "sstar-sandbox")["spec"]["template"]["spec"]
    (worker,) = pod["containers"]
    context = worker["securityContext"]
    assert context["runAsUser"] == 0  # owns the delegated cgroup; maps uid 65534 onto itself
    assert context["readOnlyRootFilesystem"] is True
    if rendering.variant.endswith("components"):  # components/privileged-sandbox
        assert context["privileged"] is True
        assert "hostUsers" not in pod
        assert "procMount" not in context
        return
    assert context["privileged"] is False
    assert pod["hostUsers"] is False  # root here is an unprivileged user on the node
    assert context["procMount"] == "Unmasked"  # bwrap --proc needs an unmasked /proc
    assert context["seccompProfile"] == {"type": "Unconfined"}  # unshare, clone, mount
    assert context["appArmorProfile"] == {"type": "Unconfined"}  # mount in its namespaces
    assert context["capabilities"] == {"drop": ["ALL"], "add": ["SETFCAP"]}  # a uid 0 map
    assert context["allowPrivilegeEscalation"] is False
    annotations = rendering.get("Deployment", "sstar-sandbox")["spec"]["template"]["metadata"][
        "annotations"
    ]
    assert annotations["io.kubernetes.cri-o.cgroup2-mount-hierarchy-rw"] == "true"


def _dockerfile_stage(name: str) -> str:
    text = DOCKERFILE.read_text(encoding="utf-8")
    stages = re.split(r"^FROM ", text, flags=re.MULTILINE)
    return next(s for s in stages if re.match(rf"\S+ AS {name}\b", s))


def test_the_image_carries_what_the_sandbox_runs():
    runtime = _dockerfile_stage("runtime")
    install = re.search(r"apt-get install -y --no-install-recommends((?:[^&])+)", runtime)
    assert install is not None
    packages = {word.split("=")[0] for word in install.group(1).replace("\\", " ").split()}
    assert {"bubblewrap", "python3", "tini"} <= packages
    defaults = inspect.signature(BubblewrapSandbox.create).parameters
    assert defaults["python"].default == "/usr/bin/python3"  # Debian's, from that package
    assert defaults["bwrap"].default == "/usr/bin/bwrap"
    # `docker build .` (the last stage) stays the model-free image
    last = DOCKERFILE.read_text(encoding="utf-8").rstrip().splitlines()[-1]
    assert last == "FROM runtime"


def test_the_embedded_variant_uses_the_model_the_image_prepared():
    rendering = Rendering.of("embedded", ROOT)  # an overlay of the repository: no scratch
    proxy = rendering.container("sstar-proxy")
    config = rendering.config()
    assert proxy["image"] == "sstar-proxy-embedded"
    assert "SSTAR_UPSTREAM_API_BASE" not in config  # no upstream: the embedded model serves
    model = _dockerfile_stage("model")
    embedded = _dockerfile_stage("embedded")
    assert f"--isa {config['SSTAR_LOCAL_MODEL_ISA']}" in model
    assert f"ARG SSTAR_LOCAL_MODEL={config['SSTAR_LOCAL_MODEL']}" in model
    cache = re.search(r"--cache-dir (\S+)", model)
    assert cache is not None
    assert f"SSTAR_CACHE_DIR={cache.group(1)}" in embedded
    assert f"COPY --from=model {cache.group(1)} {cache.group(1)}" in embedded
    threads = int(config["SSTAR_LOCAL_MODEL_THREADS"])
    assert threads <= float(proxy["resources"]["requests"]["cpu"].rstrip("m")) / 1000


def test_the_vllm_variant_reads_an_upstream_and_its_optional_key():
    rendering = Rendering.of("vllm", ROOT)
    config = rendering.config()
    assert config["SSTAR_UPSTREAM_API_BASE"].startswith(("http://", "https://"))
    key = env_entry(rendering.container("sstar-proxy"), "SSTAR_UPSTREAM_API_KEY")
    assert key is not None
    assert key["valueFrom"]["secretKeyRef"]["optional"] is True
    assert rendering.container("sstar-proxy")["image"] == "sstar-proxy"


def test_the_rules_the_api_server_adds_to_the_schemas_hold(rendering):
    """Validation the API server does beyond the JSON schemas (a failed apply otherwise)."""
    for workload, pod in rendering.pod_specs():
        template = workload["spec"]["template"]["metadata"]["labels"]
        assert workload["spec"]["selector"]["matchLabels"].items() <= template.items()
        if pod.get("hostUsers") is False:
            assert not any(pod.get(f) for f in ("hostNetwork", "hostPID", "hostIPC"))
        for container in pod["containers"]:
            context = container.get("securityContext", {})
            escalates = context.get("privileged") or "SYS_ADMIN" in context.get(
                "capabilities", {}
            ).get("add", [])
            if escalates:
                assert context.get("allowPrivilegeEscalation") is not False
            if context.get("procMount") == "Unmasked":
                assert pod.get("hostUsers") is False
            names = [p["name"] for p in container.get("ports", [])]
            assert len(names) == len(set(names))
            assert all(re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?", n) for n in names)
    for budget in rendering.of_kind("PodDisruptionBudget"):
        assert len({"minAvailable", "maxUnavailable"} & budget["spec"].keys()) == 1
    for hpa in rendering.of_kind("HorizontalPodAutoscaler"):
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
