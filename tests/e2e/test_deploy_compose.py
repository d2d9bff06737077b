"""docker-compose.yaml, .env.example and the Dockerfile, checked without a Docker engine:
the services the issue names, their wiring, health checks and volumes, every secret
documented, and the settings the native Celery tier (test_deploy_celery.py) runs with.
`docker compose config` (or Debian's docker-compose) validates the file too when a
client is installed; neither needs an engine for that."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.deploy import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    ROOT,
    airflow_services,
    compose,
    env_example,
)

AIRFLOW_SERVICES = {"airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker", "airflow-init"}
COMMANDS = {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
            "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer",
            "airflow-worker": "celery worker"}
# Settings read by the code that production leaves unset on purpose.
NOT_FOR_PRODUCTION = {"CDOP_DEMO", "CDOP_ACTOR", "CDOP_TEST_PG_URL"}  # demo, audit name, test tooling


def test_the_stack_has_every_service():
    services = compose()["services"]
    assert AIRFLOW_SERVICES | {"airflow-db", "cdop-db", "redis", "mailpit"} <= set(services)
    for name, command in COMMANDS.items():
        assert services[name]["command"] == command, name
    # Two PostgreSQL servers: Airflow's metadata and the CDOP case data never share one.
    assert services["airflow-db"]["image"].startswith("postgres:")
    assert services["cdop-db"]["image"].startswith("postgres:")
    assert services["airflow-db"]["volumes"] != services["cdop-db"]["volumes"]
    assert services["redis"]["image"].startswith("redis:")
    assert "mailpit" in services["mailpit"]["image"]


def test_airflow_runs_celery_on_redis_with_postgres_metadata():
    for name, service in airflow_services().items():
        env = service["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:"), name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg2://"), name
        assert "@airflow-db:5432/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"


def test_include_dags_and_plugins_are_in_every_airflow_container():
    for name, service in airflow_services().items():
        env = service["environment"]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in service["volumes"]}
        assert env["PYTHONPATH"] == "/opt/cdop/include" and mounts["/opt/cdop/include"] == "./include"
        assert mounts[env["AIRFLOW__CORE__DAGS_FOLDER"]] == "./dags", name
        assert mounts[env["AIRFLOW__CORE__PLUGINS_FOLDER"]] == "./plugins", name
        assert env["CDOP_HOME"] in mounts, name  # returned files, reports: one shared volume
        for source in mounts.values():
            if source.startswith("./"):
                assert (ROOT / source).is_dir(), source
    # The plugin file the API server loads is the one the tests load.
    assert (ROOT / "plugins" / "cdop_operations.py").is_file()


def test_secrets_come_from_the_env_file():
    for name, service in airflow_services().items():
        assert service["env_file"] == ".env", name
        for key, value in service["environment"].items():
            if re.search(r"(?i)(password|secret|fernet|keys)$", key) or "://" in str(value):
                # A secret, or a URL that may carry one: interpolated from .env, never written here.
                assert "${" in str(value) or "@" not in str(value), key
        assert "CDOP_ENCRYPTION_KEYS" not in service["environment"]  # only ever from .env
    assert "change-me" not in yaml.safe_dump(compose())  # no placeholder secret in the file


def test_every_variable_is_documented_in_env_example():
    documented = env_example()
    raw = COMPOSE_FILE.read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_][A-Z0-9_]*)", raw))  # $${X}: the container's own
    assert used <= set(documented), used - set(documented)
    # Everything the CDOP code reads from the environment is set by compose or .env.
    code = "".join(p.read_text() for p in (ROOT / "include").rglob("*.py"))
    read = set(re.findall(r"\"(CDOP_[A-Z_]+)\"", code)) - NOT_FOR_PRODUCTION
    set_by_compose = set(airflow_services()["airflow-worker"]["environment"])
    assert read <= set(documented) | set_by_compose, read - set(documented) - set_by_compose
    # Each documented variable has a comment above it saying what it is.
    lines = ENV_EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[A-Z_]+=", line):
            assert lines[number - 1].startswith("#"), line.split("=")[0]
    for key in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "CDOP_ENCRYPTION_KEYS",
                "CDOP_DATABASE_URL", "CDOP_SMTP_HOST", "CDOP_SMTP_PORT", "CDOP_SMTP_SECURITY",
                "CDOP_SMTP_USER", "CDOP_SMTP_PASSWORD", "CDOP_POLICY_FILE"):
        assert key in documented, key


def test_cdop_database_url_points_at_the_cdop_database():
    env = env_example()
    url = env["CDOP_DATABASE_URL"]
    assert url.startswith("postgresql+psycopg2://cdop:") and "@cdop-db:5432/cdop" in url
    assert f":{env['CDOP_DB_PASSWORD']}@" in url  # the same placeholder as the container's
    assert env["CDOP_SMTP_HOST"] == "mailpit" and env["CDOP_SMTP_SECURITY"] in ("starttls", "tls")


def test_the_catchers_certificate_is_made_once_and_trusted_by_the_cdop():
    services, env = compose()["services"], env_example()
    assert services["mailpit"]["depends_on"]["mail-cert"]["condition"] == "service_completed_successfully"
    assert services["mail-cert"]["entrypoint"][:2] == ["cdop", "dev-cert"]
    assert services["mailpit"]["environment"]["MP_SMTP_TLS_CERT"] == env["CDOP_SMTP_CA_FILE"]
    for name in AIRFLOW_SERVICES:
        assert "mail-certs:/certs:ro" in services[name]["volumes"], name


def test_health_checks_and_start_order():
    services = compose()["services"]
    one_shot = {"airflow-init", "mail-cert"}  # run to completion; others wait for them
    for name, service in services.items():
        if name not in one_shot:
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            assert dependency != name
            if rule["condition"] == "service_healthy":
                assert services[dependency].get("healthcheck"), (name, dependency)
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        needs = services[name]["depends_on"]
        assert needs["airflow-init"]["condition"] == "service_completed_successfully", name
        assert {"redis", "airflow-db", "cdop-db"} <= set(needs), name
    # The worker runs tasks through the API server's execution API.
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"


def test_init_migrates_both_databases_and_loads_the_agency_directory():
    init = compose()["services"]["airflow-init"]
    script = "\n".join(init["command"])
    steps = [s.strip() for s in script.splitlines() if s.strip()]
    assert steps.index("airflow db migrate") < steps.index("cdop db upgrade")
    assert any(s.startswith("cdop agencies import") for s in steps)
    directory = env_example()["CDOP_AGENCY_DIRECTORY"]
    assert directory.startswith("/opt/cdop/include/")
    assert (ROOT / "include" / directory.removeprefix("/opt/cdop/include/")).is_file()
    assert init["restart"] == "no"


def test_fab_signs_people_in_and_init_creates_the_cdop_roles():
    """The stack uses the FAB auth manager; its init service creates exactly the FAB roles
    the CDOP pages admit (roles.FAB_ROLES) and a first administrator who is a coordinator."""
    from importlib.metadata import version

    from cdop_airflow.ops_app.roles import FAB_ROLES

    for name, service in airflow_services().items():
        assert service["environment"]["AIRFLOW__CORE__AUTH_MANAGER"] == (
            "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"), name
        assert not [k for k in service["environment"] if "SIMPLE_AUTH_MANAGER" in k], name
    script = "\n".join(compose()["services"]["airflow-init"]["command"])
    steps = [s.strip() for s in script.splitlines() if s.strip()]
    create = next(s for s in steps if s.startswith("airflow roles create"))
    assert shlex.split(create)[3:] == list(FAB_ROLES)
    assert steps.index("airflow db migrate") < steps.index(create)
    assert 'airflow users add-role --username "$${AIRFLOW_ADMIN_USERNAME}" --role "CDOP Coordinator"' in steps
    pins = [line.split()[0] for line in (ROOT / "requirements.txt").read_text().splitlines()
            if line and not line[0].isspace() and not line.startswith("#")]
    assert f"apache-airflow-providers-fab=={version('apache-airflow-providers-fab')}" in pins


def test_named_volumes_are_declared():
    data = compose()
    declared = set(data["volumes"])
    for name, service in data["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith(("./", "/")):
                assert source in declared, (name, source)


def test_dockerfile_matches_the_pinned_airflow():
    from importlib.metadata import version

    dockerfile = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", dockerfile, re.M).group(1)
    assert base == f"apache/airflow:{version('apache-airflow')}-python3.11"
    assert "requirements.txt" in dockerfile and "pip install --no-cache-dir --no-deps -e" in dockerfile
    assert compose()["x-airflow-common"]["build"] == "."


def _compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_client_accepts_the_file(tmp_path):
    """`docker compose config` parses, interpolates and validates against the Compose
    schema without an engine; run it when a client is installed."""
    client = _compose_client()
    if client is None:
        pytest.skip("no docker compose client (apt-get install docker-compose)")
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(COMPOSE_FILE, project / "docker-compose.yaml")
    shutil.copy(ENV_EXAMPLE, project / ".env")
    for name in ("include", "dags", "plugins", "local", "Dockerfile"):
        (project / name).symlink_to(ROOT / name)
    result = subprocess.run([*client, "config"], cwd=project, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    rendered = yaml.safe_load(result.stdout)
    assert set(rendered["services"]) == set(compose()["services"])
    worker = rendered["services"]["airflow-worker"]["environment"]
    assert worker["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://airflow:")
    assert not re.search(r"(?<!\$)\$\{", result.stdout)  # every variable interpolated


def test_the_local_folder_is_documented():
    assert Path(ROOT / "local" / "README.md").is_file()
