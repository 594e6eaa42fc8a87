"""deploy/k8s, rendered per variant and checked the way a cluster would check it, and more.

There is no Kubernetes here, so what can be proved without one is: every object validates
against the API schemas of the Kubernetes versions named below (strict: an unknown or misspelt
field fails), and every reference between objects resolves: Service and PDB selectors, HPA
targets, ConfigMap and Secret keys, probe ports, the URLs the proxy is given, the drain timing.
What only a cluster shows (the sandbox's namespaces and cgroups in a pod) is listed in the
README as not verified here.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from proxy.settings import Settings
from tests.deploy.kustomize import Resource, identity, load_documents
from tests.deploy.manifests import (
    EXAMPLES,
    K8S,
    NAMESPACE,
    ROOT,
    SECRET_EXAMPLE,
    VARIANTS,
    Rendering,
    container_port,
    env_entry,
    secret_example,
    selects,
    variant_directory,
)

# The oldest version the sandbox workers' pod spec works on (user namespaces and procMount are
# on by default from 1.33) and the newest whose schemas kubernetes-validate bundles.
KUBERNETES_VERSIONS = ("1.33.0", "1.37.0")
# Settings the lead fixed for issue 15 that other branches add to proxy/settings.py.
SETTINGS_ON_OTHER_BRANCHES = frozenset(
    {"SSTAR_REDIS_URL", "SSTAR_SANDBOX_URLS", "SSTAR_SANDBOX_TOKEN"}
)
SECRET_KEYS = ("SSTAR_API_KEYS", "SSTAR_TRACE_SECRET", "SSTAR_SANDBOX_TOKEN")


@pytest.fixture(scope="module", params=VARIANTS)
def rendering(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    return Rendering.of(request.param, tmp_path_factory.mktemp("variant"))


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates_against_the_kubernetes_schemas(rendering, version):
    extra = [*load_documents(SECRET_EXAMPLE), *(d for f in EXAMPLES for d in load_documents(f))]
    for document in [*rendering.objects, *extra]:
        kubernetes_validate.validate(document, version, strict=True)


def test_the_schema_check_catches_a_misspelt_field(rendering):
    deployment = rendering.get("Deployment", "sstar-proxy")
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("variant", VARIANTS)
def test_kubectl_kustomize_renders_the_same_objects(variant, tmp_path):
    directory = variant_directory(variant, tmp_path)
    printed = subprocess.run(
        ["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=True
    ).stdout
    theirs = {identity(d): d for d in yaml.safe_load_all(printed) if d}
    ours = {identity(d): d for d in Rendering.of(variant, tmp_path).objects}
    assert ours == theirs


def test_every_namespaced_object_is_in_the_namespace_the_pods_need(rendering):
    namespace = rendering.get("Namespace", NAMESPACE)
    # the sandbox's seccomp/AppArmor "Unconfined" is refused by the baseline level
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    for item in rendering.objects:
        if item["kind"] != "Namespace":
            assert item["metadata"]["namespace"] == NAMESPACE, identity(item)


def _deployment_selected(rendering: Rendering, selector: dict[str, str]) -> Resource:
    chosen = [
        d
        for d in rendering.of_kind("Deployment")
        if selects(selector, d["spec"]["template"]["metadata"]["labels"])
    ]
    assert len(chosen) == 1, f"{selector} selects {len(chosen)} Deployments"
    return chosen[0]


def test_every_service_selects_one_deployment_on_a_port_it_serves(rendering):
    for service in rendering.of_kind("Service"):
        target = _deployment_selected(rendering, service["spec"]["selector"])
        containers = target["spec"]["template"]["spec"]["containers"]
        for port in service["spec"]["ports"]:
            assert any(container_port(c, port["targetPort"]) for c in containers), port


def test_every_autoscaler_and_budget_has_its_target(rendering):
    for hpa in rendering.of_kind("HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        target = rendering.get(ref["kind"], ref["name"])
        assert "replicas" not in target["spec"], "the HPA owns the replica count"
        # CPU utilization is measured against the requests: without one the HPA cannot scale
        for container in target["spec"]["template"]["spec"]["containers"]:
            assert container["resources"]["requests"]["cpu"], container["name"]
        assert hpa["spec"]["minReplicas"] >= 2  # a PDB of maxUnavailable 1 then keeps one up
    budgets = {b["metadata"]["name"] for b in rendering.of_kind("PodDisruptionBudget")}
    assert budgets == {"sstar-proxy", "sstar-sandbox"}
    for budget in rendering.of_kind("PodDisruptionBudget"):
        _deployment_selected(rendering, budget["spec"]["selector"]["matchLabels"])


def test_every_configmap_and_secret_reference_resolves(rendering):
    secret = secret_example()
    for _, pod in rendering.pod_specs():
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                assert rendering.has("ConfigMap", volume["configMap"]["name"])
            assert "secret" not in volume
            assert "hostPath" not in volume
        for container in pod["containers"]:
            for source in container.get("envFrom", []):
                assert rendering.has("ConfigMap", source["configMapRef"]["name"])
            for entry in container.get("env", []):
                ref = entry.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    key = ref["secretKeyRef"]
                    assert key["name"] == secret["metadata"]["name"]
                    assert key["key"] in secret["stringData"], key
                if "configMapKeyRef" in ref:
                    key = ref["configMapKeyRef"]
                    assert key["key"] in rendering.get("ConfigMap", key["name"])["data"]


def test_probes_reach_the_ports_the_containers_listen_on(rendering):
    for _, pod in rendering.pod_specs():
        for container in pod["containers"]:
            for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                probe = container.get(kind)
                if probe is None:
                    continue
                action = probe.get("httpGet") or probe.get("tcpSocket")
                if action is not None:
                    assert container_port(container, action["port"]), (container["name"], kind)
    for name in ("sstar-proxy", "sstar-sandbox"):
        container = rendering.container(name)
        assert container["livenessProbe"]["httpGet"]["path"] == "/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert int(rendering.config()["SSTAR_PORT"]) == container_port(
        rendering.container("sstar-proxy"), "http"
    )


# What the Secret would hold, shaped as the settings expect (the values are never real).
SECRET_VALUES = {
    "SSTAR_API_KEYS": "sk-test-client-key",
    "SSTAR_TRACE_SECRET": "0123456789abcdef0123456789abcdef",
    "SSTAR_SANDBOX_TOKEN": "0123456789abcdef0123456789abcdef",
    "SSTAR_UPSTREAM_API_KEY": "sk-test-upstream-key",
    "SSTAR_REDIS_URL": "rediss://:password@redis.example.net:6380/0",
}


def _pod_settings(rendering: Rendering) -> Settings:
    """The proxy pod's settings through the real Settings: its ConfigMap plus its Secret keys
    (with stand-in values), leaving aside the names other branches add to Settings."""
    variables = rendering.config()
    for entry in rendering.container("sstar-proxy").get("env", []):
        if "secretKeyRef" in entry.get("valueFrom", {}):
            variables[entry["name"]] = SECRET_VALUES[entry["name"]]
        elif "value" in entry:
            variables[entry["name"]] = entry["value"]
    fields = {name[len("SSTAR_") :].lower(): value for name, value in variables.items()}
    known = {name: value for name, value in fields.items() if name in Settings.model_fields}
    unknown = {f"SSTAR_{name.upper()}" for name in fields.keys() - known.keys()}
    assert unknown <= SETTINGS_ON_OTHER_BRANCHES, unknown
    return Settings.model_validate(known)


def test_the_proxy_settings_are_valid_and_production(rendering):
    config = rendering.config()
    assert all(name.startswith("SSTAR_") for name in config)
    assert not [n for n in config if re.search("KEY|TOKEN|SECRET|PASSWORD", n)], "use the Secret"
    settings = _pod_settings(rendering)
    assert settings.environment == "production"
    assert settings.host == "0.0.0.0"  # noqa: S104 - the pod's port is the Service's target
    assert SECRET_VALUES.keys() == secret_example()["stringData"].keys()
    proxy = rendering.container("sstar-proxy")
    for name in SECRET_KEYS:
        entry = env_entry(proxy, name)
        assert entry is not None
        assert entry["valueFrom"]["secretKeyRef"]["key"] == name
        assert not entry["valueFrom"]["secretKeyRef"].get("optional"), name
    worker_token = env_entry(rendering.container("sstar-sandbox"), "SSTAR_SANDBOX_TOKEN")
    assert worker_token == env_entry(proxy, "SSTAR_SANDBOX_TOKEN")


def test_termination_outlasts_the_drain_and_the_drain_outlasts_a_run(rendering):
    config = rendering.config()
    settings = _pod_settings(rendering)
    drain = float(config["SSTAR_DRAIN_TIMEOUT_S"])
    assert settings.drain_timeout_s == drain
    pod = rendering.get("Deployment", "sstar-proxy")["spec"]["template"]["spec"]
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] >= pre_stop + drain + 5
    # a scale-down or rollout lets an S* run with the default deadline finish
    from proxy.scaling.speed import PROFILES

    profile = settings.upstream_profile() if settings.has_upstream else PROFILES["embedded"]
    assert drain >= profile.default_deadline_s
    worker = rendering.get("Deployment", "sstar-sandbox")["spec"]["template"]["spec"]
    assert (
        worker["terminationGracePeriodSeconds"]
        > worker["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    )


def _service_behind(rendering: Rendering, url: str, scheme: str) -> Resource:
    """The Service a URL names (``name``, ``name.ns``, ``name.ns.svc[.cluster.local]``)."""
    parts = urlsplit(url)
    assert parts.scheme == scheme, url
    name, _, domain = (parts.hostname or "").partition(".")
    assert domain in ("", NAMESPACE, f"{NAMESPACE}.svc", f"{NAMESPACE}.svc.cluster.local"), url
    service = rendering.get("Service", name)
    assert parts.port in [p["port"] for p in service["spec"]["ports"]], url
    return service


def test_the_sandbox_and_redis_urls_point_at_services_of_the_rendering(rendering):
    config = rendering.config()
    urls = [u.strip() for u in config["SSTAR_SANDBOX_URLS"].split(",") if u.strip()]
    assert urls
    for url in urls:
        service = _service_behind(rendering, url, "http")
        assert _deployment_selected(rendering, service["spec"]["selector"])["metadata"]["name"] == (
            "sstar-sandbox"
        )
    if "SSTAR_REDIS_URL" in config:
        service = _service_behind(rendering, config["SSTAR_REDIS_URL"], "redis")
        assert rendering.has("Deployment", service["spec"]["selector"]["app.kubernetes.io/name"])
    else:  # components/external-redis: the URL is a secret; no bundled Redis is left behind
        entry = env_entry(rendering.container("sstar-proxy"), "SSTAR_REDIS_URL")
        assert entry is not None
        assert entry["valueFrom"]["secretKeyRef"]["key"] == "SSTAR_REDIS_URL"
        assert not any("redis" in o["metadata"]["name"] for o in rendering.objects)


def test_network_policies_admit_the_proxy_to_ports_that_exist(rendering):
    for policy in rendering.of_kind("NetworkPolicy"):
        target = _deployment_selected(rendering, policy["spec"]["podSelector"]["matchLabels"])
        for rule in policy["spec"].get("ingress", []):
            for peer in rule["from"]:
                source = _deployment_selected(rendering, peer["podSelector"]["matchLabels"])
                assert source["metadata"]["name"] == "sstar-proxy"
            for port in rule["ports"]:
                assert container_port(
                    target["spec"]["template"]["spec"]["containers"][0], port["port"]
                )


def test_the_readme_documents_every_overlay_and_component():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.partition("## Deploying on Kubernetes")[2].partition("\n## ")[0]
    parts = [p for kind in ("overlays", "components") for p in sorted((K8S / kind).iterdir())]
    assert parts
    for part in parts:
        assert f"`{part.relative_to(K8S)}/`" in section, part.name
