"""The panel meetings page on real SQLite and PostgreSQL: a fixed number of statements
however many meetings and cases, and the same facts the per-case path gives."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event, select

from cdop.panel import meetings as panel
from cdop.panel.case_reports import APPROVED
from cdop.rules.ages import age_band
from cdop.store.db import make_engine, unit_of_work
from cdop.store.models import Case, CaseReport, MeetingAllocation, OutboxMessage, PanelMeeting
from cdop.views import panel as panel_view

D = dt.date
TODAY = D(2026, 12, 24)
FORENAMES = ["Łukasz", "Søren", "Grace", "Hope", "May", "Will"]


def build(settings, meetings: int, per_meeting: int) -> list[int]:
    """Meetings from today on (the first one in the past), each with cases allocated;
    the packs of the tenth meeting only went (so meeting-1/ must not match meeting-10/)."""
    with unit_of_work(settings) as uow:
        s = uow.session
        rows = [PanelMeeting(meets_on=TODAY + dt.timedelta(days=14 * k - 14), kind="general", capacity=8,
                             location="Room 1") for k in range(meetings)]
        s.add_all(rows)
        s.flush()
        n = 0
        for meeting in rows:
            for _ in range(per_meeting):
                n += 1
                born = D(2026, 1, 1) - dt.timedelta(days=97 * n)
                died = D(2026, 12, 26) - dt.timedelta(days=n)  # Boxing Day and before
                case = Case(case_number=f"CDOP-2026-{n:04d}", forenames=FORENAMES[n % 6], surname="O’Neill",
                            date_of_birth=born.isoformat(), identity_index=f"{n:064d}", date_of_death=died,
                            age_at_death_days=(died - born).days, age_band=age_band(born, died),
                            sex="male", ethnicity="not_stated",
                            place_of_death="hospital", death_expected=n % 2 == 0, notified_on=died)
                s.add(case)
                s.flush()
                for version in range(1, 1 + n % 3):
                    s.add(CaseReport(case_id=case.id, version=version, built_on=TODAY,
                                     status=APPROVED if version < 2 or n % 2 else "returned"))
                s.add(MeetingAllocation(meeting_id=meeting.id, case_id=case.id, allocated_on=TODAY,
                                        pack="pack" if n % 4 == 0 else None))
        if meetings >= 10:
            s.add(OutboxMessage(business_key=f"meeting-{rows[9].id}/member-1/panel_pack/1",
                                message_id=f"<pack-{rows[9].id}@test>", kind="panel_pack", to_addrs=["m@nhs.net"],
                                cc_addrs=[], subject="pack", business_date=TODAY, params={}))
        uow.commit()
        return [m.id for m in rows]


def statements_of(settings, work) -> tuple[object, int]:
    engine = make_engine(settings)
    seen = []

    def listen(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith("BEGIN"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        return work(), len(seen)
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def test_the_page_runs_two_statements_however_many_meetings(settings):
    """The meetings with their agendas and packs queued, then members and attendance."""
    build(settings, meetings=12, per_meeting=3)
    few, few_statements = statements_of(settings, lambda: panel_view.upcoming_meetings(settings, TODAY, limit=2))
    many, many_statements = statements_of(settings, lambda: panel_view.upcoming_meetings(settings, TODAY, limit=11))
    assert len(few) == 2 and len(many) == 11
    assert few_statements == many_statements == 2


def test_the_page_shows_what_each_case_and_meeting_say(settings):
    ids = build(settings, meetings=12, per_meeting=3)
    page = panel_view.upcoming_meetings(settings, TODAY, limit=20)
    assert [m["id"] for m in page] == ids[1:]  # from today on, in date order
    sent = {m["id"]: m["papers_sent"] for m in page}
    assert sent[ids[9]] is True and not any(v for k, v in sent.items() if k != ids[9])
    with unit_of_work(settings) as uow:
        s = uow.session
        for meeting in page:
            allocated = s.execute(select(Case.case_number, MeetingAllocation.pack).join(
                MeetingAllocation, MeetingAllocation.case_id == Case.id).where(
                MeetingAllocation.meeting_id == meeting["id"]).order_by(MeetingAllocation.id)).all()
            assert meeting["allocated"] == len(allocated) == 3
            assert meeting["papers_on"] == panel.pack_date(settings.policy, meeting["meets_on"])
            # The per-case path the papers use gives the same line for each case.
            assert meeting["agenda"] == [panel._case_line(s, number) | {"pack": pack, "outcome": None}
                                         for number, pack in allocated]
    assert panel.agenda(settings, ids[3])["cases"] == next(m["agenda"] for m in page if m["id"] == ids[3])
    listed = {m["id"]: m for m in panel.list_meetings(settings, today=TODAY, include_past=True)}
    assert set(listed) == set(ids) and listed[ids[9]]["papers_sent"] and not listed[ids[0]]["papers_sent"]


def test_members_attendance_and_an_empty_agenda_are_those_each_meeting_gives(settings):
    """Meetings with no case, members invited to some meetings only, one inactive member
    who attended: the page's two statements give what each meeting's own page gives."""
    ids = build(settings, meetings=4, per_meeting=2)
    people = [panel.add_member(settings, name=name, role="Paediatrician", email=f"{tag}@nhs.net")["id"]
              for name, tag in (("Zoë Ward", "zw"), ("Ade Okafor", "ao"), ("Mo Ali", "ma"))]
    empty = panel.add_meeting(settings, meets_on=TODAY + dt.timedelta(days=90), today=TODAY, members=people[:2])
    held_empty = panel.add_meeting(settings, meets_on=TODAY - dt.timedelta(days=40), today=TODAY - dt.timedelta(days=60))
    panel.record_meeting(settings, ids[0], today=TODAY, members=people,
                         attendance={people[0]: "attended", people[1]: "apologies"})
    panel.set_member_active(settings, "zw@nhs.net", active=False)

    meetings, members = panel_view.meetings_page(settings, TODAY, past=3)
    upcoming = [m["id"] for m in meetings if not m["held"]]
    held = [m["id"] for m in meetings if m["held"]]
    assert upcoming == [*ids[1:], empty] and held == [ids[0], held_empty]  # held: newest first
    assert [m["name"] for m in members] == ["Ade Okafor", "Mo Ali"]  # active, in the order added
    with unit_of_work(settings) as uow:
        for meeting in meetings:
            detail = panel.meeting_detail(uow.session, settings.policy, meeting["id"])
            invited = sorted((p["name"], p["status"]) for p in detail["members"] if p["status"])
            assert [(p["name"], p["status"]) for p in meeting["members"]] == invited
            assert meeting["attended"] == sum(s == "attended" for _, s in invited)
            assert meeting["apologies"] == sum(s == "apologies" for _, s in invited)
            assert meeting["agenda"] == detail["agenda"] and meeting["allocated"] == len(detail["agenda"])
            assert meeting["papers_sent"] == detail["papers_sent"] is False
    by_id = {m["id"]: m for m in meetings}
    assert by_id[empty]["agenda"] == [] and by_id[empty]["places_left"] == 8
    assert [p["name"] for p in by_id[empty]["members"]] == ["Ade Okafor", "Zoë Ward"]
    assert by_id[ids[0]]["attended"] == 1 and by_id[ids[0]]["apologies"] == 1
