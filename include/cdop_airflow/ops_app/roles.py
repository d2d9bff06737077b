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
"CDOP Viewer"; the compose stack's init service creates them), by every way FAB gives a
user a role: directly (`ab_user_role`), through a FAB group (`ab_group_role` of a group in
`ab_user_group`: FAB's own `get_user_roles` counts those too), and through the LDAP/OAuth
role mapping (`AUTH_ROLES_MAPPING` in webserver_config.py, e.g. an LDAP group DN ->
["CDOP Coordinator"]: FAB writes the mapped roles to the user's own roles when it
registers the user, and at every sign-in with `AUTH_ROLES_SYNC_AT_LOGIN = True`, so a
user removed from the LDAP group loses the role at the next sign-in); a user in several
holds each. Any other auth manager's user, or a user in none of these roles, holds no CDOP role
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
        # FAB's User: its own roles (a list of Role rows, each with a name) and those of
        # every group it belongs to.
        names = {getattr(r, "name", None) for r in fab_roles} | fab_group_role_names(user)
        return frozenset(FAB_ROLES[n] for n in names if n in FAB_ROLES)
    simple_role = getattr(user, "role", None)
    if isinstance(simple_role, str) and simple_role.upper() in SIMPLE_AUTH_MANAGER_ROLES:
        return frozenset({SIMPLE_AUTH_MANAGER_ROLES[simple_role.upper()]})
    return frozenset()


def fab_group_role_names(user: Any) -> set[str]:
    """The names of the roles a FAB user holds through its groups (FAB's `ab_group`,
    `ab_user_group`, `ab_group_role`; what FAB's own `get_user_roles` adds to the
    user's roles). The auth manager hands over a user loaded in a session it has
    closed, with its roles but not its groups: those are read from Airflow's database
    by the user's id. Anything that is not a FAB user has none."""
    try:
        from sqlalchemy import inspect
        from sqlalchemy.exc import NoInspectionAvailable
    except ImportError:  # pragma: no cover -- SQLAlchemy ships with Airflow
        return set()
    try:
        state = inspect(user)
    except NoInspectionAvailable:
        # Not a mapped object (a test double, another auth manager's user).
        return {getattr(r, "name", None) for g in getattr(user, "groups", None) or ()
                for r in getattr(g, "roles", ())} - {None}
    if "groups" not in state.unloaded:
        return {r.name for g in user.groups for r in g.roles}
    user_id = getattr(user, "id", None)
    if user_id is None:
        return set()
    return _group_role_names_from_database(user_id)


def _group_role_names_from_database(user_id: int) -> set[str]:
    from airflow.providers.fab.auth_manager.models import Role as FabRole
    from airflow.providers.fab.auth_manager.models import assoc_group_role, assoc_user_group
    from airflow.utils.session import create_session
    from sqlalchemy import select

    query = (select(FabRole.name)
             .join(assoc_group_role, assoc_group_role.c.role_id == FabRole.id)
             .join(assoc_user_group, assoc_user_group.c.group_id == assoc_group_role.c.group_id)
             .where(assoc_user_group.c.user_id == user_id))
    with create_session() as session:
        return set(session.scalars(query))
