"""Meetings, members, allocation and the weekly list of new deaths, on SQLite and
PostgreSQL with the real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from cdop.intake.notifications import register_notifications
from cdop.panel import meetings as panel
from cdop.panel.case_reports import assemble_reports, decide
from cdop.panel.meetings import allocate_cases
from cdop.panel.papers import plan_new_deaths_list, plan_panel_papers
from cdop.store.db import unit_of_work
from cdop.store.models import Case, MeetingAllocation
from cdop_airflow.sending import send_pending
from tests.conftest import cli
from tests.support.clock import cli_on
from tests.support.panel import every_part_text, gate_for, ready_case, received

D = dt.date


def _allocations(settings) -> dict[str, int]:
    with unit_of_work(settings) as uow:
        return dict(uow.session.execute(
            select(Case.case_number, MeetingAllocation.meeting_id).join(Case, Case.id == MeetingAllocation.case_id)
        ).all())


def test_approved_cases_go_to_the_next_suitable_meeting_with_room_oldest_first(agencies):
    settings = agencies
    # Notified (and died) in this order: a, b general; c, d neonatal (under 28 days); e general.
    a, _ = ready_case(settings, notified=D(2026, 10, 5), seed=1, agencies=("RUH",), family=False)
    b, _ = ready_case(settings, notified=D(2026, 10, 12), seed=2, agencies=("RUH",), family=False)
    c, _ = ready_case(settings, notified=D(2026, 10, 19), seed=3, agencies=("NCH",), age_days=3, family=False)
    d, _ = ready_case(settings, notified=D(2026, 10, 26), seed=4, agencies=("NCH",), age_days=27, family=False)
    e, _ = ready_case(settings, notified=D(2026, 11, 2), seed=5, agencies=("RUH",), family=False)
    late, _ = ready_case(settings, notified=D(2026, 11, 9), seed=6, agencies=("RUH",), family=False)
    today = D(2027, 2, 19)
    for args in (["--date", "2027-02-10"], ["--date", "2027-03-04", "--capacity", "2"],
                 ["--date", "2027-03-10", "--kind", "neonatal", "--capacity", "1"], ["--date", "2027-03-25"]):
        result = cli_on(D(2027, 1, 4), "panel", "meeting", "add", *args, "--today", "2027-01-04")
        assert result.returncode == 0, result.stderr
    past, m1, n1, m2 = 1, 2, 3, 4
    assert cli_on(D(2027, 1, 4), "panel", "meeting", "add", "--date", "2027-03-04", "--kind", "weekly",
                  "--today", "2027-01-04").returncode == 2

    assemble_reports(settings, D(2027, 2, 1))
    # Papers day of the first meeting, nothing allocated yet: no pack goes (and nothing breaks).
    assert plan_panel_papers(settings, panel.pack_date(settings.policy, D(2027, 3, 4))) == {"packs": 0, "addenda": 0}
    for number in (e, d, c, b, a):  # approved in any order: allocation goes by date of death
        decide(settings, number, approve=True, comments=None, actor="coordinator", today=D(2027, 2, 2))
    result = allocate_cases(settings, today)
    assert result == {"allocated": [a, b, c, e], "waiting": [d]}
    assert _allocations(settings) == {a: m1, b: m1, c: n1, e: m2}  # never the past meeting
    assert past not in _allocations(settings).values()
    assert allocate_cases(settings, today) == {"allocated": [], "waiting": [d]}  # rerun: nothing moves

    # Once no neonatal meeting lies ahead, a neonatal death goes to a general meeting.
    assert allocate_cases(settings, D(2027, 3, 10))["allocated"] == [d]
    assert _allocations(settings)[d] == m2
    # A case not approved is never allocated.
    assert late not in _allocations(settings)
    agenda = cli("panel", "agenda", str(m2)).stdout
    assert e in agenda and d in agenda and "0-27 days" in agenda


def _notify(settings, on: dt.date, seed: int, age_days: int = 400, expected: bool = False) -> str:
    died = on - dt.timedelta(days=1)
    row = {"forenames": "Ignatius", "surname": f"Blenkinsop{'xyz'[seed % 3]}",
           "date_of_birth": (died - dt.timedelta(days=age_days)).isoformat(), "date_of_death": died.isoformat(),
           "sex": "male", "place_of_death": "home", "expected": "yes" if expected else "no",
           "agencies": ["RUH"], "notified_on": on.isoformat()}
    [number] = register_notifications(settings, [row], today=on, first_row=None)
    return number


def test_the_panel_hears_of_new_deaths_in_a_weekly_anonymised_list(agencies, smtp_server):
    settings = agencies
    before = _notify(settings, D(2027, 2, 26), 1)  # the week before
    in_week = [_notify(settings, D(2027, 3, 2), 2, age_days=5, expected=True), _notify(settings, D(2027, 3, 7), 3)]
    after = _notify(settings, D(2027, 3, 8), 4)  # the list day itself: next week's list
    for name, email in (("A Member", "a.member@nhs.net"), ("B Member", "b.member@democounty.gov.uk"),
                        ("Lay Member", "lay.member@example.org")):
        assert cli("panel", "member", "add", "--name", name, "--role", "Member", "--email", email).returncode == 0

    # Wednesday 10 March: Monday's list (deaths notified Mon 1 to Sun 7 March) still goes.
    assert plan_new_deaths_list(settings, D(2027, 3, 10)) == 2  # one per member on a secure route
    assert plan_new_deaths_list(settings, D(2027, 3, 11)) == 0  # once per member per week
    send_pending(settings, kinds=list(panel.KINDS))
    lists = received(smtp_server, "panel_new_deaths")
    assert sorted(m["X-Envelope-To"] for m in lists) == ["a.member@nhs.net", "b.member@democounty.gov.uk"]
    gate = gate_for(settings, before, *in_week, after)
    for message in lists:
        body = message.get_body(("plain",)).get_content()
        assert in_week[0] in body and in_week[1] in body and before not in body and after not in body
        assert f"{in_week[0]}: 0-27 days, expected" in body and f"{in_week[1]}: 1-4 years, unexpected" in body
        assert "week before 8 March 2027" in body
        assert gate.scan("\n".join(every_part_text(message))) == []

    # The previous week's list, planned on its own Monday, has the one death of that week.
    assert plan_new_deaths_list(settings, D(2027, 3, 1)) == 2
    send_pending(settings, kinds=list(panel.KINDS))
    earlier = [m for m in received(smtp_server, "panel_new_deaths") if "1 March 2027" in m["Subject"] or
               "2027-03-01" in m["Subject"]]
    assert len(earlier) == 2 and before in earlier[0].get_body(("plain",)).get_content()
    # The next week's list carries the death notified on the list day; then weeks with no
    # death send no list.
    assert plan_new_deaths_list(settings, D(2027, 3, 15)) == 2
    assert plan_new_deaths_list(settings, D(2027, 4, 5)) == 0


def test_a_missed_week_is_carried_by_the_next_list(agencies, smtp_server):
    settings = agencies
    assert cli("panel", "member", "add", "--name", "A Member", "--role", "Member",
               "--email", "a.member@nhs.net").returncode == 0
    first_week = _notify(settings, D(2027, 3, 2), 1)
    assert plan_new_deaths_list(settings, D(2027, 3, 8)) == 1
    missed_week = _notify(settings, D(2027, 3, 10), 2)  # the DAG was down on 15 March
    this_week = _notify(settings, D(2027, 3, 17), 3)
    assert plan_new_deaths_list(settings, D(2027, 3, 22)) == 1
    send_pending(settings, kinds=list(panel.KINDS))
    latest = [m for m in received(smtp_server, "panel_new_deaths") if "2027-03-22" in m["Subject"]]
    body = latest[0].get_body(("plain",)).get_content()
    assert missed_week in body and this_week in body and first_week not in body
    assert "since the previous list" in body
