"""The CDOP role of a signed-in Airflow user, from what each auth manager knows of them
(roles.py documents the mapping)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from cdop_airflow.ops_app.roles import FAB_ROLES, SIMPLE_AUTH_MANAGER_ROLES, Role, cdop_roles


def test_simple_auth_manager_roles_map_as_documented():
    from airflow.api_fastapi.auth.managers.simple.simple_auth_manager import SimpleAuthManagerRole
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    # Every role Airflow's SimpleAuthManager has is mapped; nothing else is.
    assert set(SIMPLE_AUTH_MANAGER_ROLES) == {r.name for r in SimpleAuthManagerRole}
    expected = {"admin": Role.COORDINATOR, "OP": Role.COORDINATOR, "user": Role.PANEL_MEMBER,
                "Viewer": Role.VIEWER}
    for role, cdop in expected.items():
        assert cdop_roles(SimpleAuthManagerUser(username="Søren", role=role)) == {cdop}
    assert cdop_roles(SimpleAuthManagerUser(username="Grace", role=None)) == frozenset()
    assert cdop_roles(SimpleAuthManagerUser(username="Will", role="SUPERUSER")) == frozenset()


def test_fab_roles_by_membership_and_nothing_by_default():
    def fab_user(*names):
        return SimpleNamespace(roles=[SimpleNamespace(name=n) for n in names], get_name=lambda: "may")

    assert cdop_roles(fab_user("CDOP Coordinator")) == {Role.COORDINATOR}
    assert cdop_roles(fab_user("Viewer", "CDOP Panel member")) == {Role.PANEL_MEMBER}
    assert cdop_roles(fab_user("CDOP Viewer", "CDOP Panel member")) == {Role.VIEWER, Role.PANEL_MEMBER}
    # Airflow's own FAB roles grant nothing in the CDOP, Admin included.
    assert cdop_roles(fab_user("Admin", "Op", "User", "Viewer", "Public")) == frozenset()
    assert cdop_roles(fab_user()) == frozenset()
    assert set(FAB_ROLES.values()) == set(Role)


@pytest.mark.parametrize("user", [SimpleNamespace(), SimpleNamespace(roles="CDOP Coordinator"), object()])
def test_an_unknown_kind_of_user_holds_no_role(user):
    assert cdop_roles(user) == frozenset()
