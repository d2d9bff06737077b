"""How long each operations page takes with 10,000 cases in the CDOP database, each
beside its floor, and the two hot pages' read models beside theirs.

Loads a throwaway database (SQLite by default; --postgres for a throwaway database on
the PostgreSQL at 127.0.0.1:5432) with N cases spread over every stage -- four agency
requests each, parallel processes, the outbox and audit trail they leave, panel
meetings with agendas -- then requests each page over HTTP from the CDOP app (the same
app the plugin mounts), served by uvicorn as `airflow api-server` serves it
(benchmarks/_http.py), signed in by benchmarks/_signin.py: Airflow's user look-up
answers a fixed coordinator, saving one token decode; every dependency runs as
deployed. Each page over HTTP is printed beside its floor: the statements that
request ran, captured, replayed on a raw DBAPI cursor with nothing done to the rows;
interleaved (A B A B ...), medians of --pairs pairs, the ratio, the statements it ran,
and whether it stays under 300 ms. The tables are ANALYZEd after the bulk load, as
autovacuum would do on a live PostgreSQL.

Then, for "overdue returns by agency" and "panel meetings", the page's read model (the
view functions its route calls) and the whole page over HTTP, each beside its floor:
the page's SQL alone, the very statements the read model ran (captured), replayed on a
raw DBAPI cursor with nothing done to the rows. The two sides interleaved (A B A B ...),
medians of --pairs pairs, and the ratio; with the number of statements each page runs.

    .venv/bin/python benchmarks/ops_pages.py [--cases 10000] [--postgres] [--pairs 21]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
import uuid
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "include"), str(ROOT)]

from _compare import HEADER, captured_statements, interleaved, replayed  # noqa: E402
from _http import served  # noqa: E402
from _signin import coordinator_app  # noqa: E402

TODAY = dt.date(2026, 3, 2)
AGENCIES = ["RUH", "NCH", "GPHC", "GPMV", "CSC", "POL", "SCH1", "EDU", "CHS", "WMAS", "CAMHS", "HOS"]
PROCESSES = ["coroner_inquest", "post_mortem", "police", "cdrm", "cspr", "leder", "nhs_psi"]


def load(settings, cases: int, seed: int = 6) -> dict[str, int]:
    """Bulk-load a caseload with the shape the pages read (not through the services:
    registering 10,000 notifications one by one would measure intake, not the pages)."""
    from sqlalchemy import insert, select

    from cdop.store.db import make_engine, migrate
    from cdop.store.models import (
        Agency,
        AgencyRequest,
        AuditEvent,
        Case,
        Investigation,
        MeetingAllocation,
        MeetingAttendance,
        OutboxMessage,
        PanelMeeting,
        PanelMember,
    )

    migrate(settings)
    engine = make_engine(settings)
    rng = random.Random(seed)
    with engine.begin() as conn:
        conn.execute(insert(Agency), [
            {"code": code, "name": f"Agency {code}", "agency_type": "other",
             "request_email": f"{code.lower()}@example.nhs.net", "secure_email": True, "active": True}
            for code in AGENCIES
        ])
        agency_ids = dict(conn.execute(select(Agency.code, Agency.id)).all())
        case_rows, stages = [], []
        for n in range(cases):
            notified = TODAY - dt.timedelta(days=rng.randint(0, 3650))
            stage = rng.choices(["notified", "gathering", "waiting", "ready", "closed"],
                                [5, 25, 15, 15, 40])[0]
            stages.append((stage, notified))
            case_rows.append({
                "case_number": f"CDOP-{notified.year}-{n + 1:05d}", "forenames": "Demo",
                "surname": "Child", "date_of_birth": "2020-01-01", "identity_index": f"{n:064x}",
                "date_of_death": notified - dt.timedelta(days=2), "age_at_death_days": 700,
                "age_band": "1-4 years",
                "sex": "female", "ethnicity": "not_stated", "place_of_death": "hospital",
                "death_expected": False, "circumstances": [], "notified_on": notified,
                "closed_on": notified + dt.timedelta(days=300) if stage == "closed" else None,
                "family_context": {},
            })
        conn.execute(insert(Case), case_rows)
        case_ids = list(conn.execute(select(Case.id).order_by(Case.id)).scalars())
        requests, processes, audit = [], [], []
        for case_id, (stage, notified) in zip(case_ids, stages, strict=True):
            sent = notified + dt.timedelta(days=1)
            for i, code in enumerate(rng.sample(AGENCIES, 4)):
                if stage == "notified":
                    status = "pending"
                elif stage == "gathering" and i < 2:
                    status = "sent"
                else:
                    status = "returned"
                requests.append({
                    "case_id": case_id, "agency_id": agency_ids[code], "forms": ["reporting"],
                    "status": status, "requested_on": None if status == "pending" else sent,
                    "due_on": None if status == "pending" else sent + dt.timedelta(days=28),
                    "returned_on": sent + dt.timedelta(days=20) if status == "returned" else None,
                    "ladder_step": rng.randint(0, 3) if status == "sent" else 0,
                })
            for kind in rng.sample(PROCESSES, 2):
                open_ = stage in ("waiting", "gathering", "notified")
                processes.append({
                    "case_id": case_id, "kind": kind,
                    "status": "in_progress" if open_ else "concluded",
                    "started_on": sent, "concluded_on": None if open_ else sent + dt.timedelta(days=90),
                })
            audit += [
                {"actor": "bench", "action": action, "entity": "case", "entity_id": case_id,
                 "case_id": case_id, "details": {"n": k},
                 "occurred_at": dt.datetime.combine(notified, dt.time(9)) + dt.timedelta(hours=k)}
                for k, action in enumerate(["notification_registered", "request_sent",
                                            "message_sent", "return_recorded", "investigation_recorded"])
            ]
        for chunk in range(0, len(requests), 5000):
            conn.execute(insert(AgencyRequest), requests[chunk:chunk + 5000])
        conn.execute(insert(Investigation), processes)
        for chunk in range(0, len(audit), 10000):
            conn.execute(insert(AuditEvent), audit[chunk:chunk + 10000])
        request_rows = conn.execute(
            select(AgencyRequest.id, AgencyRequest.case_id, AgencyRequest.agency_id,
                   AgencyRequest.requested_on).where(AgencyRequest.status != "pending")
        ).all()
        outbox = [
            {"business_key": f"{rid}/agency_request/1", "message_id": f"<{uuid.uuid4().hex}@bench>",
             "kind": "agency_request", "sequence": 1, "case_id": cid, "agency_id": aid,
             "request_id": rid, "to_addrs": ["agency@example.nhs.net"], "cc_addrs": [],
             "subject": "request", "secure_route": True, "business_date": day, "params": {},
             "status": "sent", "attempts": 1,
             "created_at": dt.datetime.combine(day, dt.time(9)),
             "sent_at": dt.datetime.combine(day, dt.time(9, 5))}
            for rid, cid, aid, day in request_rows
        ]
        for chunk in range(0, len(outbox), 5000):
            conn.execute(insert(OutboxMessage), outbox[chunk:chunk + 5000])
        meetings = [{"meets_on": TODAY + dt.timedelta(days=30 * k - 1800), "kind": "general",
                     "capacity": 8, "location": f"Room {k % 5}", "starts_at": dt.time(10)} for k in range(70)]
        conn.execute(insert(PanelMeeting), meetings)
        meeting_ids = list(conn.execute(select(PanelMeeting.id).order_by(PanelMeeting.id)).scalars())
        conn.execute(insert(PanelMember), [
            {"name": f"Member {k}", "role": "Panel member", "email": f"member{k}@example.nhs.net", "active": True}
            for k in range(1, 10)])
        member_ids = list(conn.execute(select(PanelMember.id)).scalars())
        conn.execute(insert(MeetingAttendance), [
            {"meeting_id": mid, "member_id": k, "status": "attended" if m["meets_on"] < TODAY else "invited"}
            for mid, m in zip(meeting_ids, meetings, strict=True) for k in member_ids])
        ready = [cid for cid, (stage, _) in zip(case_ids, stages, strict=True) if stage in ("ready", "closed")]
        conn.execute(insert(MeetingAllocation), [
            {"meeting_id": meeting_ids[i // 8], "case_id": cid, "allocated_on": TODAY, "pack": None}
            for i, cid in enumerate(ready[: len(meeting_ids) * 8])
        ])
        # The packs of every meeting up to ten days ahead went, to each of nine members.
        went = [i for i, m in zip(meeting_ids, meetings, strict=True)
                if m["meets_on"] <= TODAY + dt.timedelta(days=10)]
        conn.execute(insert(OutboxMessage), [
            {"business_key": f"meeting-{mid}/member-{k}/panel_pack/1", "message_id": f"<{uuid.uuid4().hex}@bench>",
             "kind": "panel_pack", "sequence": 1, "to_addrs": [f"member{k}@example.nhs.net"], "cc_addrs": [],
             "subject": "pack", "secure_route": True, "business_date": TODAY, "params": {}, "status": "sent",
             "attempts": 1, "created_at": dt.datetime.combine(TODAY, dt.time(9))}
            for mid in went for k in range(1, 10)
        ])
    # A bulk load leaves the planner without statistics until autovacuum's next pass;
    # take them now, as a live database would have them.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    return {"cases": cases, "requests": len(requests), "outbox": len(outbox), "audit": len(audit)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=21, help="interleaved pairs beside each floor")
    parser.add_argument("--postgres", action="store_true", help="use a throwaway PostgreSQL database")
    args = parser.parse_args()

    from cryptography.fernet import Fernet

    workdir = Path(tempfile.mkdtemp(prefix="cdop-bench-ops-"))
    from tests.support.scratch import scratch_postgres

    database = (scratch_postgres("cdop_bench") if args.postgres
                else nullcontext(f"sqlite:///{workdir / 'cdop.sqlite'}"))
    with database as url:
        os.environ.update({"CDOP_DATABASE_URL": url, "CDOP_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "CDOP_POLICY_FILE": str(ROOT / "tests/support/office_policy.toml"),
                           "CDOP_HOME": str(workdir), "CDOP_SMTP_PORT": "8025"})
        run(args, url)


def run(args, url: str) -> None:
    from sqlalchemy import select

    from cdop.config import settings_from_env
    from cdop.store.db import unit_of_work
    from cdop.store.models import Case

    settings = settings_from_env()
    started = time.perf_counter()
    sizes = load(settings, args.cases)
    print(f"loaded {sizes} into {url.split('://')[0]} in {time.perf_counter() - started:.1f} s")
    with unit_of_work(settings) as uow:
        some_case = uow.session.scalar(select(Case.case_number).where(Case.closed_on.is_(None))
                                       .order_by(Case.id.desc()))

    app = coordinator_app(TODAY)
    with unit_of_work(settings) as uow:
        from cdop.store.models import PanelMeeting

        a_meeting = uow.session.scalar(select(PanelMeeting.id).where(PanelMeeting.meets_on >= TODAY)
                                       .order_by(PanelMeeting.meets_on))
    pages = {
        "pipeline (default stage)": "/",
        "pipeline, gathering, page 20": "/?stage=gathering_information&page=20",
        "register a death (form)": "/notifications/new",
        "overdue returns by agency": "/overdue",
        "overdue returns, one agency, page 5": "/overdue?agency=RUH&page=5",
        "waiting on investigations": "/investigations",
        "panel meetings": "/meetings",
        "one panel meeting": f"/meetings/{a_meeting}",
        "reports to check": "/reports",
        "agency directory": "/agencies",
        "one agency": "/agencies/RUH",
        "outbox": "/outbox",
        "outbox, page 200": "/outbox?page=200",
        "audit trail": "/audit",
        "panel papers": "/papers",
        "figures": "/figures",
        "case page and timeline": f"/cases/{some_case}",
    }
    with served(app) as client:
        every_page_beside_its_floor(settings, client, pages, args.pairs)
        print()
        beside_floors(settings, client, args.pairs)


LIMIT_MS = 300.0


def every_page_beside_its_floor(settings, client, pages: dict[str, str], pairs: int) -> None:
    """Each page over HTTP beside its floor -- the statements that very request ran,
    captured, replayed on a raw cursor with nothing done to the rows -- interleaved,
    with the statements it ran and whether it stays under LIMIT_MS."""

    from cdop.store.db import make_engine

    engine = make_engine(settings)
    raw = engine.raw_connection()

    def captured(path: str) -> list[tuple[str, object]]:
        response, seen = captured_statements(engine, lambda: client.get(path))
        assert response.status_code == 200, (path, response.text[:300])
        return seen

    def replay(statements):
        return replayed(raw, statements)

    print(f"each page over HTTP beside its floor (its own SQL replayed on a raw cursor); "
          f"{engine.dialect.name}; limit {LIMIT_MS:.0f} ms")
    print(HEADER + "  under limit")
    over = []
    for label, path in pages.items():
        client.get(path)  # warm-up
        statements = captured(path)

        def page(path=path):
            assert client.get(path).status_code == 200

        pair = interleaved(f"{label}", page, replay(statements), pairs=pairs,
                           note=f"[{len(statements)} statements]")
        ok = pair.now_s * 1000 < LIMIT_MS
        if not ok:
            over.append(label)
        print(pair.line() + ("  yes" if ok else "  NO"), flush=True)
    raw.close()
    print(f"pages over {LIMIT_MS:.0f} ms: {', '.join(over) if over else 'none'}")


def beside_floors(settings, client, pairs: int) -> None:
    """The two hot pages: read model and whole page, each beside the page's SQL alone."""

    from cdop.rules.workdays import WorkingCalendar
    from cdop.store.db import make_engine, unit_of_work
    from cdop.views import overdue as overdue_view
    from cdop.views import panel as panel_view

    def overdue_page():
        calendar = WorkingCalendar(settings.policy.holiday_subdivision)
        with unit_of_work(settings) as uow:
            overdue_view.overdue_by_agency(uow.session, TODAY, calendar)
            overdue_view.overdue_returns(uow.session, TODAY, calendar, settings.policy, agency=None, page=1)

    def meetings_page():
        panel_view.meetings_page(settings, TODAY, past=6)  # as the page asks

    engine = make_engine(settings)
    raw = engine.raw_connection()

    def captured(work) -> list[tuple[str, object]]:
        return captured_statements(engine, work)[1]

    def replay(statements):
        return replayed(raw, statements)

    print(f"beside the floor (the page's SQL alone, replayed on a raw cursor); {engine.dialect.name}")
    print(HEADER)
    for label, work, path in (("overdue returns by agency", overdue_page, "/overdue"),
                              ("panel meetings", meetings_page, "/meetings")):
        statements = captured(work)
        floor = replay(statements)
        note = f"[{len(statements)} statements]"
        print(interleaved(f"page {label!r}: read model", work, floor, pairs=pairs, note=note).line(), flush=True)

        def page(path=path):
            assert client.get(path).status_code == 200

        # The whole page beside the statements that request ran (the meetings page also
        # reads the members a new meeting may invite).
        requested = captured(page)
        print(interleaved(f"page {label!r}: whole page over HTTP", page, replay(requested), pairs=pairs,
                          note=f"[{len(requested)} statements]").line(), flush=True)
    raw.close()


if __name__ == "__main__":
    main()
