"""The CDOP roles under the FAB auth manager (the compose stack's): a real `airflow
api-server` with FAB, users made members of the FAB roles the init service creates, their
tokens from FAB's own /auth/token, and the role matrix checked route by route over HTTP.
A CDOP role counts whichever way FAB gives it: directly, through a FAB group, or through
FAB's LDAP/OAuth role mapping (AUTH_ROLES_MAPPING). A user in Airflow's own Admin role
only holds no CDOP role and is refused everywhere."""

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
from tests.conftest import OFFICE_POLICY, TEST_KEY, free_port
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
# Roles FAB gives through a group: group -> its FAB roles; username -> (own FAB roles,
# groups, the CDOP role that follows).
GROUPS = {"CDOP office": ["CDOP Coordinator"], "Safeguarding panel": ["CDOP Panel member"]}
PEOPLE_BY_GROUP = {
    "ngozi.ndiaye": (["Viewer"], ["CDOP office"], Role.COORDINATOR),
    "siobhan.oconnor": ([], ["Safeguarding panel"], Role.PANEL_MEMBER),
}
# Roles FAB gives through its LDAP/OAuth role mapping (AUTH_ROLES_MAPPING in
# webserver_config.py): the identity provider's group keys -> FAB roles, applied by FAB's
# own sign-in code (auth_user_oauth) when it registers the user.
# (Two coordinators in all: each coordinator's actions use up one of the two targets.)
ROLES_MAPPING = {"cdop-panel": ["CDOP Panel member"], "cdop-viewers": ["CDOP Viewer"]}
PEOPLE_BY_MAPPING = {"lukasz.wisniewski": (["cdop-viewers"], Role.VIEWER),
                     "grace.hope": (["cdop-panel", "airflow-users"], Role.PANEL_MEMBER)}
WEBSERVER_CONFIG = f"""
AUTH_ROLES_MAPPING = {ROLES_MAPPING!r}
AUTH_USER_REGISTRATION = True
AUTH_USER_REGISTRATION_ROLE = "Public"
AUTH_ROLES_SYNC_AT_LOGIN = True
"""
SETUP = """
import json, os
from airflow.providers.fab.auth_manager.cli_commands.utils import get_application_builder
from airflow.providers.fab.auth_manager.models import Group
people = json.loads(os.environ["CDOP_TEST_PEOPLE"])
by_group = json.loads(os.environ["CDOP_TEST_PEOPLE_BY_GROUP"])
by_mapping = json.loads(os.environ["CDOP_TEST_PEOPLE_BY_MAPPING"])
password = os.environ["CDOP_TEST_PASSWORD"]
with get_application_builder() as ab:
    sm = ab.sm
    for name in json.loads(os.environ["CDOP_TEST_ROLES"]):
        sm.add_role(name)
    for username, roles in people.items():
        user = sm.add_user(username=username, first_name=username, last_name="Test",
                           email=username + "@example.nhs.net",
                           role=[sm.find_role(r) for r in roles], password=password)
        assert user, username
    groups = {}
    for name, roles in json.loads(os.environ["CDOP_TEST_GROUPS"]).items():
        groups[name] = Group(name=name, roles=[sm.find_role(r) for r in roles])
        sm.session.add(groups[name])
    sm.session.commit()
    for username, (roles, member_of) in by_group.items():
        user = sm.add_user(username=username, first_name=username, last_name="Test",
                           email=username + "@example.nhs.net", role=[sm.find_role(r) for r in roles],
                           password=password, groups=[groups[g] for g in member_of])
        assert user and not {r.name for r in user.roles} & {"CDOP Coordinator", "CDOP Panel member"}, username
    for username, keys in by_mapping.items():
        user = sm.auth_user_oauth({"username": username, "email": username + "@example.nhs.net",
                                   "first_name": username, "last_name": "Test", "role_keys": keys},
                                  rotate_session_id=False)
        assert user, username
        sm.reset_password(user.id, password)  # so that the test can ask /auth/token for a token
"""

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def fab_server(tmp_path_factory):
    work = tmp_path_factory.mktemp("fab")
    port = free_port()
    (work / "dags").mkdir()
    cdop = {"CDOP_HOME": str(work / "cdop"), "CDOP_DATABASE_URL": f"sqlite:///{work / 'cdop.sqlite'}",
            "CDOP_ENCRYPTION_KEYS": TEST_KEY, "CDOP_ACTOR": "test-coordinator",
            "CDOP_POLICY_FILE": OFFICE_POLICY}
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
        "CDOP_TEST_GROUPS": json.dumps(GROUPS),
        "CDOP_TEST_PEOPLE_BY_GROUP": json.dumps({u: (r, g) for u, (r, g, _) in PEOPLE_BY_GROUP.items()}),
        "CDOP_TEST_PEOPLE_BY_MAPPING": json.dumps({u: keys for u, (keys, _) in PEOPLE_BY_MAPPING.items()}),
        "CDOP_TEST_ROLES": json.dumps(list(FAB_ROLES)),
        "CDOP_TEST_PASSWORD": PASSWORD,
    })
    _run([str(BIN / "airflow"), "db", "migrate"], env, timeout=600)
    (work / "airflow" / "webserver_config.py").write_text(WEBSERVER_CONFIG)
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
    everyone = {u: r for u, (_, r) in PEOPLE.items()} | {u: r for u, (_, _, r) in PEOPLE_BY_GROUP.items()}
    everyone |= {u: r for u, (_, r) in PEOPLE_BY_MAPPING.items()}
    for username, cdop_role in everyone.items():
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
