"""The CDOP roles under the FAB auth manager (the compose stack's): a real `airflow
api-server` with FAB, users made members of the FAB roles the init service creates, their
tokens from FAB's own /auth/token, and the role matrix checked route by route over HTTP.
A user in Airflow's own Admin role only holds no CDOP role and is refused everywhere."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from cdop.config import settings_from_env
from cdop.dev.demo import load_demo
from cdop.store.db import dispose_engines, migrate
from cdop_airflow.ops_app.app import ACCESS, create_app
from cdop_airflow.ops_app.auth import csrf_token_for
from cdop_airflow.ops_app.roles import FAB_ROLES, Role
from tests.conftest import TEST_KEY, free_port
from tests.e2e.test_deploy_celery import Service, _http_ok, _run
from tests.e2e.test_ops_pages import (
    ANSWERS_WITH_A_PAGE,
    TODAY,
    _app_routes,
    _matrix_targets,
    _request_for,
)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "Grace-and-Hope-" + uuid.uuid4().hex[:12]
# username -> FAB roles, and the CDOP role that follows (None: none).
PEOPLE = {
    "jo.okafor": (["CDOP Coordinator"], Role.COORDINATOR),
    "soren.weiss": (["CDOP Panel member", "Viewer"], Role.PANEL_MEMBER),
    "may.oneill": (["CDOP Viewer"], Role.VIEWER),
    "airflow.admin": (["Admin"], None),
}
SETUP = """
import json, os
from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder
people = json.loads(os.environ["CDOP_TEST_PEOPLE"])
with get_application_builder() as ab:
    sm = ab.sm
    for name in json.loads(os.environ["CDOP_TEST_ROLES"]):
        sm.add_role(name)
    for username, roles in people.items():
        user = sm.add_user(username=username, first_name=username, last_name="Test",
                           email=username + "@example.nhs.net",
                           role=[sm.find_role(r) for r in roles], password=os.environ["CDOP_TEST_PASSWORD"])
        assert user, username
"""

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def fab_server(tmp_path_factory):
    work = tmp_path_factory.mktemp("fab")
    port = free_port()
    (work / "dags").mkdir()
    cdop = {"CDOP_HOME": str(work / "cdop"), "CDOP_DATABASE_URL": f"sqlite:///{work / 'cdop.sqlite'}",
            "CDOP_ENCRYPTION_KEYS": TEST_KEY, "CDOP_ACTOR": "test-coordinator"}
    settings = settings_from_env(cdop)
    migrate(settings)
    load_demo(settings, today=TODAY)
    targets = _matrix_targets(settings)
    dispose_engines()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "CDOP_"))}
    env.update(cdop)
    env.update({
        "AIRFLOW_HOME": str(work / "airflow"),
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{work / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(work / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex * 2,
        "AIRFLOW__API__SECRET_KEY": uuid.uuid4().hex,
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "PYTHONPATH": str(ROOT / "include"),
        "CDOP_TEST_PEOPLE": json.dumps({u: roles for u, (roles, _) in PEOPLE.items()}),
        "CDOP_TEST_ROLES": json.dumps(list(FAB_ROLES)),
        "CDOP_TEST_PASSWORD": PASSWORD,
    })
    _run([str(BIN / "airflow"), "db", "migrate"], env, timeout=600)
    _run([sys.executable, "-c", SETUP], env, timeout=300)
    api = Service("api-server", [str(BIN / "airflow"), "api-server", "--host", "127.0.0.1",
                                 "--port", str(port), "--workers", "1"], env, work)
    try:
        api.wait_until(_http_ok(f"http://127.0.0.1:{port}/api/v2/monitor/health"), limit_s=400)
        yield {"base": f"http://127.0.0.1:{port}", "targets": targets, "api": api}
    finally:
        api.stop()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _multipart(form: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in form.items():
        for one in value if isinstance(value, list) else [value]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{one}\r\n'.encode())
    for name, (filename, content, kind) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: {kind}\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _request(method: str, url: str, token: str | None = None, form: dict | None = None,
             files: dict | None = None):
    headers = {"accept": "text/html", **({"authorization": f"Bearer {token}"} if token else {})}
    if files and form is not None:
        data, headers["content-type"] = _multipart(form, files)
    else:
        data = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _token(base: str, username: str) -> str:
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    request = urllib.request.Request(f"{base}/auth/token", data=body, method="POST",
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["access_token"]


def test_the_role_matrix_under_the_fab_auth_manager(fab_server):
    base, targets = fab_server["base"], fab_server["targets"]
    routes = _app_routes(create_app())
    turns: dict[str, int] = {}
    for username, (_roles, cdop_role) in PEOPLE.items():
        token = _token(base, username)
        for method, path in routes:
            allowed = cdop_role in ACCESS[path][method]
            turn = turns.get(path, 0) if allowed else 0
            url, form, files = _request_for(method, path, targets, turn)
            if method == "POST":
                form = {**form, "csrf_token": csrf_token_for(token)}
            status, text = _request(method, base + "/cdop" + url, token, form if method == "POST" else None,
                                    files)
            where = (username, method, path, status, text[:300])
            if allowed:
                assert 200 <= status < 500, where
                if method == "POST":
                    assert status == ANSWERS_WITH_A_PAGE.get(path, 303), where
                    turns[path] = turn + 1
            else:
                assert status == 403 and "does not allow this page or action" in text, where
    # Signed out: the sign-in page for a page, 401 for an action.
    for method, path in routes:
        url, form, files = _request_for(method, path, targets, 0)
        status, _ = _request(method, base + "/cdop" + url, None, form if method == "POST" else None, files)
        assert status == (303 if method == "GET" else 401), (method, path, status)
