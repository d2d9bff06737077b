"""Helpers for the operations-page tests (issue 6): Airflow's real API app in-process,
tokens as the Airflow UI holds them, and the form token a page hands out."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from contextlib import contextmanager

JWT_SECRET = "cdop-ops-tests-" + "x" * 64
# One SimpleAuthManager user per Airflow role, and so per CDOP role (roles.py):
# ADMIN and OP -> coordinator, USER -> panel member, VIEWER -> viewer.
ROLE_OF = {"coordinator": "admin", "officer": "op", "panel": "user", "viewer": "viewer"}
USERS = ",".join(f"{name}:{role}" for name, role in ROLE_OF.items())

# What Airflow's API server needs to sign and check the UI's tokens in these tests.
AIRFLOW_API_ENV = {
    "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET,
    "AIRFLOW__CORE__AUTH_MANAGER": (
        "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
    ),
    "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": USERS,
}


@contextmanager
def airflow_api_environment(tmp_dir):
    """Set (then restore) the environment Airflow's auth manager reads."""
    passwords = tmp_dir / "passwords.json"
    passwords.write_text(json.dumps({name: f"{name}-pw" for name in ROLE_OF}))
    values = {**AIRFLOW_API_ENV, "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords)}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield values
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def token_for(username: str = "coordinator", role: str = "admin", seconds: int = 3600) -> str:
    """A JWT exactly as Airflow issues it at sign-in."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return get_auth_manager().generate_jwt(
        SimpleAuthManagerUser(username=username, role=role), expiration_time_in_seconds=seconds
    )


def forged_token(username: str = "coordinator") -> str:
    """Well-formed claims, signed with a key that is not the server's."""
    import jwt

    now = dt.datetime.now(dt.UTC)
    claims = {"sub": username, "role": "admin", "aud": "apache-airflow", "iss": None,
              "iat": now, "nbf": now, "exp": now + dt.timedelta(hours=1), "jti": "forged"}
    return jwt.encode({k: v for k, v in claims.items() if v is not None},
                      "not-the-server-key-" + "y" * 64, algorithm="HS512")


def expired_token(username: str = "coordinator") -> str:
    return token_for(username, seconds=-3600)


_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page carries no form token"
    return match.group(1)


def field_problem(html: str, form: str, field: str) -> str:
    """The problem a refused page form shows beside one field (ops/_forms.html.j2), with
    the field marked invalid and described by it; '' when the field has none."""
    from html import unescape

    found = re.search(rf'<span class="field-error" id="{form}-{field}-error">'
                      rf'<span class="visually-hidden">Error: </span>(.*?)</span>', html, re.S)
    if not found:
        return ""
    described = re.search(rf'id="{form}-{field}"[^>]*aria-invalid="true" aria-describedby="{form}-{field}-error"', html)
    assert described, f"{form}-{field} is not marked invalid"
    return unescape(found.group(1))


def form_summary(html: str, form: str) -> str:
    """The text of a refused form's summary above it ('' when none)."""
    from html import unescape

    found = re.search(rf'<div class="errors error-summary" role="alert" id="{form}-errors">(.*?)</div>', html, re.S)
    return unescape(re.sub(r"<[^>]+>", "", found.group(1))) if found else ""


def cdop_subapp(app):
    """The CDOP FastAPI app as Airflow mounted it (found through the real plugin)."""
    from fastapi import FastAPI
    from starlette.routing import Mount

    for route in app.routes:
        if isinstance(route, Mount) and route.path == "/cdop" and isinstance(route.app, FastAPI):
            return route.app
    raise AssertionError("the CDOP app is not mounted at /cdop")


PORTAL_ANSWER = "Seen by the named nurse on the ward"


def submitted_portal_return(settings, number: str, code: str, *, attachment: bytes | None = None):
    """A portal return the agency has submitted (a form with one answer in each of its
    first fields, and a stored, encrypted attachment), as the portal leaves it."""
    from pathlib import Path

    from cdop.portal import forms
    from cdop.store import files
    from cdop.store.db import unit_of_work
    from cdop.store.lookups import get_case, get_request
    from cdop.store.models import PortalAttachment, PortalForm

    with unit_of_work(settings) as uow:
        request = get_request(uow, get_case(uow, number), code)
        [first, *_] = forms.sections_for(request.agency.agency_type, list(request.forms))
        text_field = next(f for f in first.fields if f.type == "text")
        uow.session.add(PortalForm(request_id=request.id, status="submitted", submissions=1,
                                   reference=f"{number}-{code}-1", submitted_at=dt.datetime(2026, 2, 27, 10),
                                   content={"answers": {text_field.key: PORTAL_ANSWER}}))
        if attachment is not None:
            stored = files.store_encrypted(uow, settings, Path("files") / number / code,
                                           f"{number}-{code}-portal.pdf", attachment)
            uow.session.add(PortalAttachment(request_id=request.id, stored_path=stored,
                                             original_name="Named Child chronology.pdf",
                                             content_type="application/pdf", size_bytes=len(attachment)))
        uow.commit()
    return number, code
