"""Chase ladder rules, working-day maths and stage transitions: plain rules, no I/O."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from cdop.config import ConfigError, LadderStep, Policy, load_policy
from cdop.dev.simulate import business_days
from cdop.intake import ncmd
from cdop.requests import chasing
from cdop.requests.digest import Digest
from cdop.rules import chase_ladder
from cdop.rules.stages import InvestigationFacts, RequestFacts, Stage, derive_stage, ready_since
from cdop.rules.workdays import WorkingCalendar

D = dt.date
POLICY = Policy()


def test_default_ladder_is_two_reminders_then_an_escalation():
    assert [(s.after_working_days, s.action) for s in POLICY.chase_ladder] == [
        (5, "reminder"), (10, "reminder"), (15, "escalation")]


@pytest.mark.parametrize(
    ("due_on", "step", "expected"),
    [
        # Due Mon 14 Dec 2026: +5 is Mon 21 Dec; +10 skips Christmas Day (Fri 25), the
        # weekend and Boxing Day observed (Mon 28): Wed 30 Dec; +15 skips New Year's Day.
        (D(2026, 12, 14), 1, D(2026, 12, 21)),
        (D(2026, 12, 14), 2, D(2026, 12, 30)),
        (D(2026, 12, 14), 3, D(2027, 1, 7)),
        # Easter 2027: Good Friday 26 March and Easter Monday 29 March are not working days.
        (D(2027, 3, 22), 1, D(2027, 3, 31)),
        # A due date on a weekend counts from the next working day.
        (D(2027, 2, 13), 1, D(2027, 2, 19)),
    ],
)
def test_ladder_dates_count_working_days_only(due_on, step, expected):
    assert chase_ladder.ladder_date(POLICY, due_on, step) == expected


def test_catch_up_takes_one_step_per_run():
    due = D(2026, 12, 14)
    # On time: the next step is on its ladder date.
    assert chase_ladder.next_chase_date(POLICY, due, 1, D(2026, 12, 21)) == D(2026, 12, 30)
    # After an outage the first reminder went out on Fri 15 Jan, after the second's and
    # the escalation's ladder dates: the second comes on the next working day, not the same run.
    assert chase_ladder.next_chase_date(POLICY, due, 1, D(2027, 1, 15)) == D(2027, 1, 18)
    assert chase_ladder.next_chase_date(POLICY, due, 2, D(2027, 1, 18)) == D(2027, 1, 19)
    # Before Christmas: the day after Thu 24 Dec is Tue 29 Dec.
    assert chase_ladder.next_chase_date(POLICY, D(2026, 11, 1), 1, D(2026, 12, 24)) == D(2026, 12, 29)


def test_no_next_step_at_the_top_of_the_ladder():
    assert chase_ladder.next_chase_date(POLICY, D(2026, 12, 14), 3, D(2027, 1, 7)) is None


def test_ladder_is_configurable():
    policy = Policy(chase_ladder=(LadderStep(after_working_days=2, action="escalation"),))
    assert chase_ladder.ladder_date(policy, D(2026, 12, 23), 1) == D(2026, 12, 29)
    assert chase_ladder.next_chase_date(policy, D(2026, 12, 23), 1, D(2026, 12, 29)) is None


def test_a_bad_ladder_stops_start_up_naming_the_setting(tmp_path):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(
        "[[chase_ladder]]\nafter_working_days = 10\naction = 'reminder'\n"
        "[[chase_ladder]]\nafter_working_days = 5\naction = 'escalation'\n"
    )
    with pytest.raises(ConfigError, match="chase_ladder"):
        load_policy(policy_file)
    policy_file.write_text("[[chase_ladder]]\nafter_working_days = 5\naction = 'telephone'\n")
    with pytest.raises(ConfigError, match="chase_ladder"):
        load_policy(policy_file)


def test_reminders_go_to_the_request_address_escalations_up_with_the_coordinator_in_copy():
    agency = SimpleNamespace(request_email="forms@a.nhs.net", escalation_email="boss@a.nhs.net")
    assert chasing.recipients(POLICY, agency, "reminder") == (["forms@a.nhs.net"], [])
    assert chasing.recipients(POLICY, agency, "escalation") == (["boss@a.nhs.net"], [POLICY.coordinator_email])
    no_contact = SimpleNamespace(request_email="forms@b.nhs.net", escalation_email=None)
    assert chasing.recipients(POLICY, no_contact, "escalation") == ([POLICY.coordinator_email], [])


@pytest.mark.parametrize(
    ("day", "working"),
    [(D(2026, 12, 24), True), (D(2026, 12, 25), False), (D(2026, 12, 26), False),
     (D(2026, 12, 28), False), (D(2027, 1, 1), False), (D(2027, 1, 2), False),
     (D(2027, 3, 26), False), (D(2027, 3, 29), False), (D(2027, 3, 30), True)],
)
def test_working_days_follow_england_bank_holidays(day, working):
    assert WorkingCalendar("ENG").is_working_day(day) is working


def test_working_day_counts_across_christmas():
    calendar = WorkingCalendar()
    assert calendar.between(D(2026, 12, 14), D(2027, 1, 18)) == 22
    assert calendar.add(D(2026, 12, 24), 1) == D(2026, 12, 29)
    assert calendar.subtract(D(2027, 1, 4), 1) == D(2026, 12, 31)


def test_simulation_walks_calendar_days_until_enough_working_days():
    walked = list(business_days(WorkingCalendar(), D(2026, 12, 24), 3))
    assert walked == [(D(2026, 12, 24), True), (D(2026, 12, 25), False), (D(2026, 12, 26), False),
                      (D(2026, 12, 27), False), (D(2026, 12, 28), False), (D(2026, 12, 29), True),
                      (D(2026, 12, 30), True)]


# ------------------------------------------------------------------------------ stages


def sent():
    return RequestFacts("sent")


def returned(day):
    return RequestFacts("returned", returned_on=day)


def test_stage_transitions_from_notified_to_ready():
    inquest_open = InvestigationFacts("coroner_inquest", "in_progress")
    inquest_done = InvestigationFacts("coroner_inquest", "concluded", D(2027, 2, 1))
    assert derive_stage([RequestFacts("pending")], [inquest_open]) is Stage.NOTIFIED
    assert derive_stage([], []) is Stage.NOTIFIED
    assert derive_stage([sent(), RequestFacts("pending")], [inquest_open]) is Stage.GATHERING
    assert derive_stage([returned(D(2027, 1, 5)), sent()], [inquest_open]) is Stage.GATHERING
    waived = RequestFacts("waived", waived_on=D(2027, 1, 8))
    assert derive_stage([returned(D(2027, 1, 5)), waived], [inquest_open]) is Stage.WAITING
    assert derive_stage([returned(D(2027, 1, 5)), waived], [inquest_done]) is Stage.READY
    assert ready_since([returned(D(2027, 1, 5)), waived], [inquest_done]) == D(2027, 2, 1)
    # A process that does not apply does not hold the case up; one not started does.
    assert derive_stage([returned(D(2027, 1, 5))], [InvestigationFacts("leder", "not_applicable")]) is Stage.READY
    assert derive_stage([returned(D(2027, 1, 5))], [InvestigationFacts("cdrm", "not_started")]) is Stage.WAITING
    assert derive_stage([returned(D(2027, 1, 5))], [], closed_on=D(2027, 3, 1)) is Stage.CLOSED


def test_an_empty_digest_is_not_sent():
    assert Digest(D(2027, 1, 4), (), (), (), ()).empty
    breach = ncmd.NcmdBreach("CDOP-2027-0001", dt.datetime(2027, 1, 1), 2)
    assert not Digest(D(2027, 1, 4), (), (), (), (breach,)).empty
