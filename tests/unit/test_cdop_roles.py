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


def test_fab_roles_through_a_group_count_like_the_users_own():
    def group(*names):
        return SimpleNamespace(roles=[SimpleNamespace(name=n) for n in names])

    user = SimpleNamespace(roles=[SimpleNamespace(name="Viewer")], groups=[group("Op"), group("CDOP Coordinator")])
    assert cdop_roles(user) == {Role.COORDINATOR}
    both = SimpleNamespace(roles=[SimpleNamespace(name="CDOP Viewer")], groups=[group("CDOP Panel member")])
    assert cdop_roles(both) == {Role.VIEWER, Role.PANEL_MEMBER}
    assert cdop_roles(SimpleNamespace(roles=[], groups=[group("Admin")])) == frozenset()


def test_a_real_fab_user_reads_its_groups_loaded_or_from_airflows_database(monkeypatch):
    from airflow.providers.fab.auth_manager.models import Group, User
    from airflow.providers.fab.auth_manager.models import Role as FabRole

    from cdop_airflow.ops_app import roles

    # Groups already loaded on the user (an attached session): read as they are.
    loaded = User(roles=[FabRole(name="Viewer")], groups=[Group(name="office", roles=[FabRole(name="CDOP Coordinator")])])
    assert cdop_roles(loaded) == {Role.COORDINATOR}

    # The auth manager's user comes from a closed session, groups not loaded: read by id
    # (here the database read is replaced; tests/e2e/test_ops_roles_fab.py reads the real one).
    asked = []
    monkeypatch.setattr(roles, "_group_role_names_from_database",
                        lambda user_id: asked.append(user_id) or {"CDOP Panel member"})
    detached = User(id=7, roles=[FabRole(name="Viewer")])
    assert cdop_roles(detached) == {Role.PANEL_MEMBER} and asked == [7]
