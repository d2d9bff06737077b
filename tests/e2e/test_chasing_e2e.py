"""End to end: 60+ consecutive working days of chasing, across Christmas, Boxing Day
(observed), New Year's Day and weekends, with an outage, a rerun and returns, asserting
the exact date of every reminder and escalation as received by a real SMTP server.

The DAG itself (dag.test) runs on the days that matter: the first reminders, Christmas
Day, a normal ladder day, the catch-up after the outage, a rerun of it, and the step
after. The other days run the same service functions its tasks call, to keep the test
fast. Both CDOP databases (SQLite and PostgreSQL) are covered.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from cdop.requests.returns import record_return
from cdop.rules.workdays import WorkingCalendar
from tests.conftest import run_dag
from tests.support.chasing import chase_day, days, digest_day, notify, received, send_requests

D = dt.date
FIRST, LAST = D(2026, 11, 16), D(2027, 2, 12)
OUTAGE = set(days(D(2027, 1, 6), D(2027, 1, 14)))  # the DAG did not run these days
DAG_DAYS = [D(2026, 12, 21), D(2026, 12, 25), D(2026, 12, 30), D(2027, 1, 15), D(2027, 1, 18)]
COORDINATOR = "cdop.coordinator@example.nhs.net"

A, B = "CDOP-2026-0001", "CDOP-2026-0002"
# Requests of case A are sent on Mon 16 Nov 2026, due 20 working days later on Mon 14 Dec;
# case B's on Mon 23 Nov, due Mon 21 Dec. Ladder: reminders at +5 and +10 working days,
# escalation at +15. Holidays: Fri 25 Dec, Mon 28 Dec (Boxing Day observed), Fri 1 Jan.
EXPECTED = {
    f"{A}/RUH/chase/1": D(2026, 12, 21),
    f"{A}/RUH/chase/2": D(2026, 12, 30),  # 24 Dec, then 29 Dec: the holidays do not count
    f"{A}/RUH/chase/3": D(2027, 1, 15),  # ladder date 7 Jan fell in the outage: caught up
    f"{A}/GPHC/chase/1": D(2026, 12, 21),
    f"{A}/GPHC/chase/2": D(2026, 12, 30),
    f"{A}/GPHC/chase/3": D(2027, 1, 15),
    f"{A}/SCH1/chase/1": D(2026, 12, 21),  # returned 23 Dec: the ladder stops
    f"{B}/POL/chase/1": D(2026, 12, 30),
    f"{B}/POL/chase/2": D(2027, 1, 15),  # ladder date 7 Jan, caught up after the outage
    f"{B}/POL/chase/3": D(2027, 1, 18),  # ladder date 14 Jan, but never two steps in a run
    f"{B}/CSC/chase/1": D(2026, 12, 30),  # returned 5 Jan: the ladder stops
}


def _task_states(dagrun) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dagrun.get_task_instances()}


def test_sixty_working_days_of_chasing_across_christmas(agencies, smtp_server, dagbag):
    settings = agencies
    calendar = WorkingCalendar()
    assert sum(calendar.is_working_day(d) for d in days(FIRST, LAST)) >= 60

    case_a, row_a = notify(settings, ["RUH", "GPHC", "SCH1"], on=D(2026, 11, 13), seed=1)
    send_requests(settings, D(2026, 11, 16))
    case_b, _ = notify(settings, ["POL", "CSC"], on=D(2026, 11, 20), seed=2)
    send_requests(settings, D(2026, 11, 23))
    assert (case_a, case_b) == (A, B)

    # A day with nothing to report sends no digest (the DAG says so and ends).
    run_dag(dagbag, "cdop_send_daily_digest", D(2026, 11, 17))
    assert received(smtp_server, kinds=("daily_digest",)) == []

    for day in days(FIRST, LAST):
        if day in OUTAGE:
            continue
        if day in DAG_DAYS:
            dagrun = run_dag(dagbag, "cdop_chase_overdue_returns", day)
            states = _task_states(dagrun)
            if calendar.is_working_day(day):
                assert states == {"check_working_day": "success", "plan_chases": "success",
                                  "send_chases": "success"}, (day, states)
            else:  # Christmas Day: the first task says so, the rest is skipped
                assert states["check_working_day"] == "success"
                assert states["plan_chases"] == states["send_chases"] == "skipped"
        else:
            chase_day(settings, day)
        if day == D(2027, 1, 15):
            run_dag(dagbag, "cdop_chase_overdue_returns", day)  # a rerun sends nothing twice
        if day == D(2026, 12, 30):
            chase_day(settings, day)  # and so does a second run through the service
        if day == D(2026, 12, 23):
            record_return(settings, A, "SCH1", received_on=day, today=day)
        if day == D(2027, 1, 5):
            record_return(settings, B, "CSC", received_on=day, today=day)

    chases = received(smtp_server)
    keys = Counter(m["key"] for m in chases)
    assert all(n == 1 for n in keys.values()), f"duplicates: {[k for k, n in keys.items() if n > 1]}"
    assert {m["key"]: m["date"] for m in chases} == EXPECTED

    # Never two steps of one request on the same day, and every step on a working day.
    per_request = Counter((m["key"].rsplit("/", 2)[0], m["date"]) for m in chases)
    assert max(per_request.values()) == 1
    assert all(calendar.is_working_day(m["date"]) for m in chases)

    by_key = {m["key"]: m for m in chases}
    # Reminders go to the agency's request address; escalations to its escalation
    # contact with the coordinator in copy, or to the coordinator if it has none.
    assert by_key[f"{A}/RUH/chase/1"]["to"] == "cdr.riverside@nhs.net"
    assert by_key[f"{A}/RUH/chase/1"]["kind"] == "chase_reminder"
    escalation = by_key[f"{A}/RUH/chase/3"]
    assert escalation["kind"] == "chase_escalation"
    assert (escalation["to"], escalation["cc"]) == ("safeguarding.lead.riverside@nhs.net", COORDINATOR)
    assert COORDINATOR in escalation["envelope"]
    assert (by_key[f"{A}/GPHC/chase/3"]["to"], by_key[f"{A}/GPHC/chase/3"]["cc"]) == (COORDINATOR, None)
    assert "no escalation contact" in by_key[f"{A}/GPHC/chase/3"]["text"]
    assert "Date: 15 January 2027" in escalation["text"]
    assert "30 December 2026" in escalation["text"]  # the reminders it followed

    # Case numbers only: no identifier in any reminder or escalation, secure route or not.
    for m in chases:
        for value in (row_a["surname"], row_a["nhs_number"], row_a["date_of_birth"], row_a["postcode"]):
            assert value not in m["raw"]

    # The daily digest on the step after the catch-up: overdue returns by agency.
    run_dag(dagbag, "cdop_send_daily_digest", D(2027, 1, 18))
    run_dag(dagbag, "cdop_send_daily_digest", D(2027, 1, 18))  # rerun: still one digest
    [digest_mail] = received(smtp_server, kinds=("daily_digest",))
    assert digest_mail["date"] == D(2027, 1, 18)
    text = digest_mail["text"]
    assert "Riverside University Hospitals NHS Trust (RUH)" in text
    assert f"{A}   due 2026-12-14, 22 working days overdue; step 3 of 3 (escalation on 2027-01-15)" in text
    assert f"{B}   due 2026-12-21, 17 working days overdue; step 3 of 3 (escalation on 2027-01-18)" in text
    assert "SCH1" not in text and "CSC" not in text  # returned: not overdue
    assert row_a["surname"] not in digest_mail["raw"]

    digest_day(settings, D(2027, 1, 18))  # the service path agrees: nothing new
    assert len(received(smtp_server, kinds=("daily_digest",))) == 1
