"""Who may reach the CDOP pages, and protection of their forms.

Identity is Airflow's own: the JWT the Airflow UI keeps in its `_token` cookie (or an
`Authorization: Bearer` token), validated by the configured auth manager through
`airflow.api_fastapi.core_api.security.get_user`, exactly as Airflow's own API does:
signature, expiry, audience and revocation. What the user may then do is the CDOP's own
decision, not the auth manager's: each route admits named CDOP roles (`Requires`, built
from app.ACCESS), and the user's CDOP role comes from the auth manager's roles (roles.py).

Forms carry a CSRF token derived from the session's own JWT (an HMAC keyed by it): a
page on another site cannot read the cookie, so it cannot compute the token. A POST
must also come from this origin (Origin / Sec-Fetch-Site), and the cookie is SameSite.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cdop_airflow.ops_app.roles import Role, cdop_roles

CSRF_FIELD = "csrf_token"
# Airflow's name for the session cookie (base_auth_manager.COOKIE_NAME_JWT_TOKEN); a test
# holds the two equal. Airflow's API modules are imported at the first request, not here:
# every Airflow process loads plugins, and only the API server serves these pages.
COOKIE_NAME_JWT_TOKEN = "_token"
bearer_scheme = HTTPBearer(auto_error=False)


def _auth_manager():
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager()


async def require_user(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Any:
    """Every CDOP route depends on this (installed on the app, so none can miss it).
    Airflow's own `get_user` resolves the user: Bearer header first, else the `_token`
    cookie (or the user its JWT refresh middleware already validated)."""
    from airflow.api_fastapi.core_api.security import get_user

    user = await get_user(request, None, bearer)
    request.state.cdop_signed_in = True
    request.state.cdop_user = user
    request.state.cdop_roles = cdop_roles(user)
    return user


CurrentUser = Annotated[Any, Depends(require_user)]


class Requires:
    """The dependency on every CDOP route: the signed-in user must hold one of `roles`.
    app.py builds it from its ACCESS table, never by hand, so the table is the one place
    that says who may do what."""

    def __init__(self, roles: frozenset[Role]):
        if not roles:
            raise ValueError("a route admits at least one role")
        self.roles = frozenset(roles)

    def __repr__(self) -> str:
        return f"Requires({', '.join(sorted(self.roles))})"

    async def __call__(self, request: Request, user: CurrentUser) -> None:
        if not request.state.cdop_roles & self.roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                "Your CDOP role does not allow this page or action")


def has_role(request: Request, *roles: Role) -> bool:
    """Whether the signed-in user of this request holds one of `roles`."""
    return bool(getattr(request.state, "cdop_roles", frozenset()) & set(roles))


def _session_credential(request: Request, bearer: HTTPAuthorizationCredentials | None) -> str:
    if bearer and bearer.scheme.lower() == "bearer":
        return bearer.credentials
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN) or ""


def csrf_token_for(credential: str) -> str:
    return hmac.new(credential.encode("utf-8"), b"cdop-operations-form", hashlib.sha256).hexdigest()


async def csrf_token(
    request: Request,
    _user: CurrentUser,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> str:
    """The token to put in a form's hidden field for this session."""
    return csrf_token_for(_session_credential(request, bearer))


def same_origin(request: Request) -> bool:
    """A state-changing request must come from a page of this site."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("x-forwarded-host") or request.headers.get("host") or ""
        return urlsplit(origin).netloc.lower() == host.split(",")[0].strip().lower()
    return origin != "null"


async def check_csrf(
    request: Request,
    _user: CurrentUser,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> None:
    """Refuse a POST from another site or without this session's form token."""
    if not same_origin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "Cross-site request refused")
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = csrf_token_for(_session_credential(request, bearer))
    if not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "The form has expired or did not come from this site: reload the page and try again",
        )


def login_url(request: Request) -> str:
    """The auth manager's sign-in page, coming back here afterwards."""
    return _auth_manager().get_url_login(next_url=str(request.url))
