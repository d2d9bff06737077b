"""The Kubernetes deployment (deploy/kubernetes/), checked offline: the portal's manifests
against the Kubernetes API schemas (kubernetes-validate ships them), and the Airflow
chart's values against what the chart needs from us and against the compose stack the
rest of the suite runs (the same image, executor, auth manager, settings and paths)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy/kubernetes"
KUBERNETES = "1.31"  # the oldest minor a supported cluster runs as of this writing


def _documents(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / name).read_text()) if d]


def _values() -> dict:
    return yaml.safe_load((DEPLOY / "airflow-values.yaml").read_text())


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def _portal_objects() -> dict[str, dict]:
    return {d["kind"]: d for d in _documents("portal.yaml")}


@pytest.mark.parametrize("document", _documents("portal.yaml"), ids=lambda d: d["kind"])
def test_each_portal_manifest_is_valid_kubernetes(document):
    # strict: an unknown or misspelt field is an error, not silently dropped.
    kubernetes_validate.validate(document, KUBERNETES, strict=True)


def test_the_portal_manifests_hold_a_deployment_service_ingress_with_tls_and_the_shared_volume():
    objects = _portal_objects()
    assert {"Deployment", "Service", "Ingress", "PersistentVolumeClaim", "Job", "NetworkPolicy"} <= set(objects)
    ingress = objects["Ingress"]["spec"]
    hosts = {h for t in ingress["tls"] for h in t["hosts"]}
    assert {r["host"] for r in ingress["rules"]} <= hosts  # every host is served over TLS
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == objects["Service"]["metadata"]["name"]
    service = objects["Service"]["spec"]
    pod = objects["Deployment"]["spec"]["template"]
    assert service["selector"].items() <= pod["metadata"]["labels"].items()
    assert objects["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteMany"]


def test_the_portal_command_is_one_the_cdop_command_accepts_and_trusts_only_the_proxy():
    from cdop.cli.portal import portal_serve

    container = _portal_objects()["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    command = container["command"]
    assert command[:3] == ["cdop", "portal", "serve"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    # Kubernetes expands $(VAR) from the container's env before the command runs.
    args = [re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], a) for a in command[3:]]
    params = portal_serve.make_context("serve", args).params
    assert params["host"] == "0.0.0.0" and params["proxy"]
    import ipaddress

    ipaddress.ip_network(params["proxy"])  # a network uvicorn can trust, not a name
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert params["port"] == port


def test_the_image_is_the_one_the_dockerfile_builds_pinned_to_a_tag_everywhere():
    values = _values()
    base = re.search(r"^FROM apache/airflow:(\S+)-python3\.11$", (ROOT / "Dockerfile").read_text(), re.M)
    assert base, "the Dockerfile's base image"
    airflow_version = base.group(1)
    assert values["airflowVersion"] == airflow_version
    image = f'{values["images"]["airflow"]["repository"]}:{values["images"]["airflow"]["tag"]}'
    assert values["images"]["airflow"]["tag"].startswith(airflow_version)
    assert values["images"]["airflow"]["tag"] != "latest"
    assert values["defaultAirflowRepository"] == values["images"]["airflow"]["repository"]
    assert values["defaultAirflowTag"] == values["images"]["airflow"]["tag"]
    for kind, obj in _portal_objects().items():
        spec = obj["spec"].get("template", {}).get("spec", {})
        for container in spec.get("containers", []):
            assert container["image"] == image, kind


def test_the_chart_runs_what_compose_runs():
    values = _values()
    compose_env = _compose()["x-airflow-common"]["environment"]
    assert values["executor"] == compose_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    core = values["config"]["core"]
    assert core["auth_manager"] == compose_env["AIRFLOW__CORE__AUTH_MANAGER"]
    assert core["dags_folder"] == compose_env["AIRFLOW__CORE__DAGS_FOLDER"]
    assert core["plugins_folder"] == compose_env["AIRFLOW__CORE__PLUGINS_FOLDER"]
    assert core["load_examples"].lower() == compose_env["AIRFLOW__CORE__LOAD_EXAMPLES"].lower()
    env = {e["name"]: e["value"] for e in values["env"]}
    assert env["PYTHONPATH"] == compose_env["PYTHONPATH"]
    assert env["CDOP_HOME"] == compose_env["CDOP_HOME"]


def test_the_chart_uses_an_external_database_behind_pgbouncer_keda_and_secrets_by_name():
    values = _values()
    assert values["postgresql"]["enabled"] is False and values["pgbouncer"]["enabled"] is True
    assert values["data"]["metadataSecretName"] and values["data"]["resultBackendSecretName"]
    assert values["workers"]["keda"]["enabled"] is True
    assert values["workers"]["keda"]["maxReplicaCount"] >= 2
    assert values["dags"]["gitSync"]["enabled"] is False and values["dags"]["persistence"]["enabled"] is False
    for key in ("fernetKeySecretName", "jwtSecretName", "apiSecretKeySecretName"):
        assert values[key], key
    # No secret value in the file: nothing that looks like a key or a password.
    text = (DEPLOY / "airflow-values.yaml").read_text()
    for forbidden in ("fernetKey:", "password:", "webserverSecretKey:", "jwtSecret:"):
        assert forbidden not in text


def test_every_cdop_path_the_settings_name_is_mounted():
    values = _values()
    env = {e["name"]: e["value"] for e in values["env"]}
    mounts = {m["mountPath"]: m["name"] for m in values["volumeMounts"]}
    volumes = {v["name"]: v for v in values["volumes"]}
    assert mounts[env["CDOP_HOME"]] == "cdop-home"
    assert Path(env["CDOP_POLICY_FILE"]).parent.as_posix() in mounts
    claim = volumes["cdop-home"]["persistentVolumeClaim"]["claimName"]
    assert claim == _portal_objects()["PersistentVolumeClaim"]["metadata"]["name"]
    kwargs = json.loads(values["config"]["secrets"]["backend_kwargs"])
    assert Path(kwargs["connections_file_path"]).parent.as_posix() in mounts


def test_the_secrets_backend_serves_the_connections_in_the_documented_form(tmp_path):
    """The chart's secrets backend with the connections file docs/operations/kubernetes.md
    shows: Airflow's own backend reads cdop_db and cdop_smtp from it."""
    from airflow.secrets.local_filesystem import LocalFilesystemBackend

    guide = (ROOT / "docs/operations/kubernetes.md").read_text()
    block = re.search(r"```json\n(.*?)```", guide, re.S)
    assert block, "the guide shows connections.json"
    path = tmp_path / "connections.json"
    path.write_text(block.group(1))
    backend_path = _values()["config"]["secrets"]["backend"]
    assert backend_path == "airflow.secrets.local_filesystem.LocalFilesystemBackend"
    backend = LocalFilesystemBackend(connections_file_path=str(path))
    db = backend.get_connection("cdop_db")
    assert db.conn_type == "postgres" and db.schema == "cdop"
    smtp = backend.get_connection("cdop_smtp")
    assert smtp.host and smtp.port == 587


def test_the_guide_names_every_secret_the_manifests_and_values_refer_to():
    guide = (ROOT / "docs/operations/kubernetes.md").read_text()
    values = _values()
    names = {values[k] for k in ("fernetKeySecretName", "jwtSecretName", "apiSecretKeySecretName")}
    names |= {values["data"]["metadataSecretName"], values["data"]["resultBackendSecretName"],
              values["redis"]["passwordSecretName"]}
    names |= {v["secret"]["secretName"] for v in values["volumes"] if "secret" in v}
    names |= set(re.findall(r"name: (\S+)\n", values["extraEnvFrom"]))
    for obj in _documents("portal.yaml"):
        names |= set(re.findall(r"'secretRef': \{'name': '([^']+)'", str(obj)))
        names |= set(re.findall(r"'secretName': '([^']+)'", str(obj)))
    assert names
    for name in sorted(names):
        assert f"`{name}`" in guide, name
    # Every command in the guide's shell blocks at least parses as shell.
    for shell in re.findall(r"```(?:sh|bash)\n(.*?)```", guide, re.S):
        shlex.split(shell.replace("\\\n", " "), comments=True)
