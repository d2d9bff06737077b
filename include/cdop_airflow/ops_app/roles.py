"""The CDOP's own roles, decided by the project whatever Airflow auth manager signs people in.

Airflow's permissions say who may use Airflow; they do not know what a CDOP coordinator
is, and SimpleAuthManager's custom-view check ignores the method (any signed-in user,
a viewer included, passed as "CDOP, POST"). So every CDOP route names the CDOP roles it
admits (`ACCESS` in app.py, enforced by `auth.Requires` on each route), and the CDOP role of
a signed-in user is derived here from what the auth manager says about them:

* **coordinator**: every page and every action (returns, investigations, decisions on
  case reports, the audit trail);
* **panel member**: the approved, anonymised case reports and the meeting papers;
  nothing else;
* **viewer**: the operations figures (counts by stage, agency, process and state), no
  case detail and no case number.

Under **SimpleAuthManager** (`[core] simple_auth_manager_users = name:ROLE,...`; 3.3 has
the roles VIEWER, USER, OP and ADMIN): ADMIN and OP -> coordinator, USER -> panel member,
VIEWER -> viewer. Under the **FAB auth manager** (apache-airflow-providers-fab), from
membership of the FAB roles named in `FAB_ROLES` ("CDOP Coordinator", "CDOP Panel member",
"CDOP Viewer"; the compose stack's init service creates them); a user in several holds
each. Any other auth manager's user, or a user in none of these roles, holds no CDOP role
and is refused every CDOP page (403): nothing is open by default.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Role(StrEnum):
    COORDINATOR = "coordinator"
    PANEL_MEMBER = "panel member"
    VIEWER = "viewer"


EVERY_ROLE = frozenset(Role)

# SimpleAuthManager's role names (airflow.api_fastapi.auth.managers.simple.
# simple_auth_manager.SimpleAuthManagerRole) -> the CDOP role.
SIMPLE_AUTH_MANAGER_ROLES: dict[str, Role] = {
    "ADMIN": Role.COORDINATOR,
    "OP": Role.COORDINATOR,
    "USER": Role.PANEL_MEMBER,
    "VIEWER": Role.VIEWER,
}

# FAB role names -> the CDOP role. The compose init service creates these roles.
FAB_ROLES: dict[str, Role] = {
    "CDOP Coordinator": Role.COORDINATOR,
    "CDOP Panel member": Role.PANEL_MEMBER,
    "CDOP Viewer": Role.VIEWER,
}


def cdop_roles(user: Any) -> frozenset[Role]:
    """The CDOP roles of a signed-in Airflow user (possibly none)."""
    fab_roles = getattr(user, "roles", None)
    if fab_roles is not None and not isinstance(fab_roles, str):
        # FAB's User: a list of Role rows, each with a name.
        return frozenset(FAB_ROLES[r.name] for r in fab_roles if getattr(r, "name", None) in FAB_ROLES)
    simple_role = getattr(user, "role", None)
    if isinstance(simple_role, str) and simple_role.upper() in SIMPLE_AUTH_MANAGER_ROLES:
        return frozenset({SIMPLE_AUTH_MANAGER_ROLES[simple_role.upper()]})
    return frozenset()
