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

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md ./
COPY proxy ./proxy
COPY sandbox ./sandbox
RUN pip install --upgrade pip && pip install .

FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap libseccomp2 \
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
