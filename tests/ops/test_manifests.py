"""The Kubernetes manifests: the Jilin overlay renders with kustomize, validates strictly
against Kubernetes' schemas (the CloudNativePG resources against their CRDs), and configures
the services the way their code reads its environment."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from shared import settings as settings_module
from shared.settings import ServiceSettings
from tests.ops.tools import CRDS, DEPLOY, OVERLAY, ROOT, run, tool

SERVICES = ("intake", "scheduling", "reporting")
# Read by something other than the project's own code.
FOREIGN_ENV = {"PGPASSWORD": "asyncpg takes the password from it when the URL has none"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("k8s") / "jilin.yaml"
    out.write_text(run(tool("kubectl"), "kustomize", str(OVERLAY)))
    return out


@pytest.fixture(scope="module")
def docs(rendered: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(rendered.read_text()) if d]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def service_of(deployment: dict[str, Any]) -> str:
    return str(deployment["spec"]["template"]["spec"]["containers"][0]["args"][0])


def test_builtin_resources_pass_strict_validation(docs: list[dict[str, Any]], tmp_path: Path):
    builtin = [d for d in docs if "cnpg.io" not in d["apiVersion"]]
    path = tmp_path / "builtin.yaml"
    path.write_text(yaml.safe_dump_all(builtin))
    output = run(tool("kubernetes-validate"), "--strict", str(path))
    assert output.count("passed for resource") == len(builtin), output
    assert {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"} <= {
        d["kind"] for d in builtin
    }


def test_strict_validation_rejects_an_unknown_field(docs: list[dict[str, Any]], tmp_path: Path):
    """The check above can fail: a misspelt field is an error, not a warning."""
    deployment = json.loads(json.dumps(of_kind(docs, "Deployment")[0]))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(deployment))
    validate = tool("kubernetes-validate")
    import subprocess

    done = subprocess.run([validate, "--strict", str(path)], capture_output=True, text=True)
    assert done.returncode != 0, done.stdout


def crd_schemas() -> dict[str, dict[str, Any]]:
    if not CRDS.is_dir():
        pytest.skip(
            f"CloudNativePG CRD schemas not found at {CRDS} (the shared folder beside the "
            "checkout): the Cluster and Database resources are not validated in this run"
        )
    schemas = {}
    for path in CRDS.glob("*.yaml"):
        for crd in yaml.safe_load_all(path.read_text()):
            if crd and crd.get("kind") == "CustomResourceDefinition":
                version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
                schemas[crd["spec"]["names"]["kind"]] = version["schema"]["openAPIV3Schema"]
    return schemas


def test_cloudnativepg_resources_match_their_crds(docs: list[dict[str, Any]]):
    schemas = crd_schemas()
    custom = [d for d in docs if d["apiVersion"] == "postgresql.cnpg.io/v1"]
    assert {d["kind"] for d in custom} == {"Cluster", "Database"}
    for doc in custom:
        jsonschema.validate(doc, schemas[doc["kind"]])
    with pytest.raises(jsonschema.ValidationError):
        broken = json.loads(json.dumps(of_kind(docs, "Cluster")[0]))
        broken["spec"]["postgresql"]["synchronous"]["dataDurability"] = "whenever"
        jsonschema.validate(broken, schemas["Cluster"])


def test_postgres_is_three_instances_with_required_synchronous_durability(
    docs: list[dict[str, Any]],
):
    (cluster,) = of_kind(docs, "Cluster")
    assert cluster["spec"]["instances"] == 3
    sync = cluster["spec"]["postgresql"]["synchronous"]
    assert sync["dataDurability"] == "required" and sync["number"] >= 1


def env_of(deployment: dict[str, Any], docs: list[dict[str, Any]]) -> dict[str, str]:
    """The container's environment, secrets replaced by `<secret name/key>`."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env: dict[str, str] = {}
    configmaps = {d["metadata"]["name"]: d["data"] for d in of_kind(docs, "ConfigMap")}
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = f"<{ref['name']}/{ref['key']}>"
    return env


def test_services_read_the_configuration_the_manifests_give(
    docs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
):
    databases = {d["spec"]["name"]: d["spec"]["owner"] for d in of_kind(docs, "Database")}
    for deployment in of_kind(docs, "Deployment"):
        name = service_of(deployment)
        env = env_of(deployment, docs)
        for key in list(__import__("os").environ):
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = ServiceSettings.from_env(name)
        assert settings.host == "0.0.0.0"
        port = deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]
        assert settings.port == port["containerPort"]
        assert settings.nats_user == name
        assert settings.nats_password == f"<qianshou-nats-users/{name.upper()}_NATS_PASSWORD>"
        assert settings.token_secrets == ("<qianshou-tokens/QIANSHOU_TOKEN_SECRETS>",)
        user, database = re.fullmatch(
            r"postgresql://(\w+)@qianshou-pg-rw:5432/(\w+)", settings.database_url
        ).groups()  # type: ignore[union-attr]
        assert databases[database] == user, f"{name}: {database} is not owned by {user}"
        assert env["PGPASSWORD"] == f"<qianshou-pg-{user}/password>"
        assert ("QIANSHOU_PII_KEY" in env) == (name == "intake"), "the PII key stays in intake"
        if name == "reporting":
            # Sharded reporting's own parsing accepts what the shard is given.
            regions = settings_module.reporting_regions()
            assert set(regions) == set(env["REPORTING_REGIONS"].split(","))
            shards = settings_module.reporting_shards()
            assert all(
                shards[r] == f"http://{deployment['metadata']['name']}:8083" for r in regions
            )


def test_every_variable_set_is_one_the_code_reads(docs: list[dict[str, Any]]):
    source = "\n".join(
        p.read_text()
        for folder in ("shared", "services", "deploy")
        for p in (ROOT / folder).rglob("*.py")
    )
    for deployment in of_kind(docs, "Deployment"):
        for name in env_of(deployment, docs):
            if name in FOREIGN_ENV:
                continue
            # <SERVICE>_PORT, _NATS_USER… are built in code as f"{upper}_PORT".
            suffix = "_" + name.split("_", 1)[1]
            assert f'"{name}"' in source or f'_{suffix.lstrip("_")}"' in source, (
                f"{service_of(deployment)} sets {name}, which nothing reads"
            )


def test_resources_cover_the_benchmarks_peak_memory(docs: list[dict[str, Any]]):
    figures = json.loads((ROOT / "tests" / "perf" / "full-run.json").read_text())
    peaks = {
        service: max(run["peak_rss_mb"][service] for run in figures["runs"].values())
        for service in SERVICES
    }
    units = {"Mi": 1.048576, "Gi": 1073.741824}
    for deployment in of_kind(docs, "Deployment"):
        resources = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]
        request, limit = (
            float(resources[k]["memory"][:-2]) * units[resources[k]["memory"][-2:]]
            for k in ("requests", "limits")
        )
        peak = peaks[service_of(deployment)]
        assert request >= 1.2 * peak, f"{deployment['metadata']['name']}: request under peak RSS"
        assert limit >= 2 * peak, f"{deployment['metadata']['name']}: limit leaves no head-room"


def test_probes_replicas_budgets_and_autoscaling(docs: list[dict[str, Any]]):
    deployments = of_kind(docs, "Deployment")
    for deployment in deployments:
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    by_service: dict[str, list[dict[str, Any]]] = {}
    for deployment in deployments:
        by_service.setdefault(service_of(deployment), []).append(deployment)
    assert by_service["intake"][0]["spec"]["replicas"] >= 2
    (hpa,) = of_kind(docs, "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "intake" and hpa["spec"]["minReplicas"] >= 2
    budgets = of_kind(docs, "PodDisruptionBudget")
    for deployment in deployments:
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        matching = [
            b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert len(matching) == 1, f"{deployment['metadata']['name']}: {len(matching)} budgets"
    services = of_kind(docs, "Service")
    for deployment in deployments:
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(s["spec"]["selector"].items() <= labels.items() for s in services)


def test_reporting_shards_have_disjoint_regions_and_their_own_databases(
    docs: list[dict[str, Any]],
):
    shards = [d for d in of_kind(docs, "Deployment") if service_of(d) == "reporting"]
    assert len(shards) >= 2
    seen: set[str] = set()
    databases: set[str] = set()
    for shard in shards:
        env = env_of(shard, docs)
        regions = set(env["REPORTING_REGIONS"].split(","))
        assert regions and not any(
            a.startswith(b) or b.startswith(a) for a in regions for b in seen
        ), f"{shard['metadata']['name']} overlaps another shard"
        seen |= regions
        databases.add(env["REPORTING_DATABASE_URL"])
    assert len(databases) == len(shards)
    assert all(r.startswith("22") for r in seen), "the Jilin overlay serves Jilin (22)"
    # REPORTING_SHARDS names, for each shard's regions, that shard's Service.
    services = {
        s["metadata"]["name"]: s["spec"]["ports"][0]["port"] for s in of_kind(docs, "Service")
    }
    routing = env_of(shards[0], docs)["REPORTING_SHARDS"]
    for shard in shards:
        regions = env_of(shard, docs)["REPORTING_REGIONS"]
        name = shard["metadata"]["name"]
        assert f"{regions}=http://{name}:{services[name]}" in routing.split(";"), name
    assert len(routing.split(";")) == len(shards)


def test_only_intake_is_open_to_the_outside(docs: list[dict[str, Any]]):
    policies = of_kind(docs, "NetworkPolicy")
    catch_all = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert any(
        rule.get("from") == [{"podSelector": {}}]
        for p in catch_all
        for rule in p["spec"]["ingress"]
    ), "a policy must select every pod and admit only its namespace"
    for policy in policies:
        for rule in policy["spec"]["ingress"]:
            if "from" not in rule:  # open to any source
                assert policy["spec"]["podSelector"] == {
                    "matchLabels": {"app.kubernetes.io/name": "intake"}
                }, f"{policy['metadata']['name']} opens more than intake"
    for ingress in of_kind(docs, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                assert path["backend"]["service"]["name"] == "intake"


def test_secrets_are_referenced_never_committed(docs: list[dict[str, Any]]):
    assert not of_kind(docs, "Secret")
    for path in DEPLOY.rglob("*.yaml"):
        assert not re.search(r"^kind:\s*Secret\b", path.read_text(), re.M), path
    referenced = {
        ref["name"]
        for d in of_kind(docs, "Deployment")
        for item in d["spec"]["template"]["spec"]["containers"][0].get("env", [])
        if (ref := item.get("valueFrom", {}).get("secretKeyRef"))
    }
    assert {"qianshou-tokens", "qianshou-pii", "qianshou-nats-users"} <= referenced
    guide = (ROOT / "docs" / "operations.md").read_text()
    for name in referenced:
        assert name in guide, f"docs/operations.md does not say how to create {name}"
