"""How the pages grow with the caseload: the pipeline page, the case list and one case's
page at 10k / 100k (/ 1M) cases on PostgreSQL, each beside its own SQL and with its
growth factor from the size before.

benchmarks/ops_pages.py replays each page's own SQL as its floor, so a page whose SQL
reads every case shows about 1x there at any size. Here the same page is measured at
several sizes of a region's caseload: a page whose cost follows the rows it shows grows
by about 1x from one size to the next; one that reads every case grows with the caseload.

Each size is a throwaway database on 127.0.0.1:5432 (user postgres), loaded set-based
(INSERT ... SELECT over generate_series, not row by row): a decade of notifications,
--requests agency requests and --messages outbox messages per case, about nine cases
in ten closed, the open ones spread over every stage, ANALYZEd as autovacuum would. The
encrypted columns hold one ciphertext each (no page here decrypts them). Per page: the
read model's time, its SQL alone (the statements it ran, captured, replayed on a raw
DBAPI cursor), interleaved (A B A B ...), medians of --pairs pairs, the ratio, and the
growth factor of both from the previous size. --explain prints any sequential scan of
a table with more than 10,000 rows in the plans of those statements.

    .venv/bin/python benchmarks/caseload_growth.py [--sizes 10000,100000] [--requests 15]
        [--messages 30] [--pairs 7] [--explain]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "include"), str(ROOT)]

from _compare import HEADER, captured_statements, interleaved, replayed  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402

from tests.support.scratch import scratch_postgres  # noqa: E402

TODAY = dt.date(2026, 3, 2)
AGENCIES = 20  # a region's agencies; a case asks up to one request of each
BIG = 10_000  # rows: a sequential scan of a smaller table is cheaper than an index


def load(engine, cases: int, requests: int, messages: int) -> None:
    """A decade's caseload, set-based. Case g is notified on day g * 3650 / cases of the
    decade; cases notified more than a year before TODAY are closed. Of the open cases,
    by g % 5: 0 notified (requests pending), 1-2 gathering (some request still sent),
    3 waiting (all returned, a process open), 4 ready (allocated if g % 10 = 9)."""
    from sqlalchemy import text

    from cdop.store.models import Case, OutboxMessage

    enc = {c: Case.__table__.c[c].type.process_bind_param(v, None) for c, v in {
        "forenames": "Grace", "surname": "O'Brien-Łukasz", "date_of_birth": "2020-01-01",
        "nhs_number": "9434765919", "address": "1 Hope Street", "postcode": "BA1 1AA",
        "notifier_name": "Will May", "notifier_email": "will.may@example.nhs.net",
        "date_of_death": dt.date(2021, 1, 1), "age_at_death_days": 366, "family_context": {},
    }.items()}
    subject = OutboxMessage.__table__.c["subject"].type.process_bind_param("Reminder", None)
    start = TODAY - dt.timedelta(days=3650)
    p = {"n": cases, "r": requests, "m": messages, "start": start, "today": TODAY,
         "cutoff": TODAY - dt.timedelta(days=365), "subject": subject, **enc}
    open_ = "c.closed_on IS NULL"
    statements = [
        "INSERT INTO agencies (code, name, agency_type, request_email, secure_email, active) "
        "SELECT 'AG' || a, 'Agency ' || a, 'other', 'ag' || a || '@example.nhs.net', true, true "
        f"FROM generate_series(1, {AGENCIES}) AS a",
        "INSERT INTO panel_meetings (meets_on, kind, capacity) VALUES (:today, 'general', 100000)",
        """INSERT INTO cases (case_number, forenames, surname, date_of_birth, nhs_number, address,
               postcode, notifier_name, nhs_index, identity_index, date_of_death, age_at_death_days,
               age_band, sex, ethnicity, deprivation_decile, place_of_death, death_expected,
               circumstances, notifier_role, notifier_email, notified_on, closed_on, family_context,
               created_at)
           SELECT 'C' || lpad(g::text, 7, '0'), :forenames, :surname, :date_of_birth, :nhs_number,
               :address, :postcode, :notifier_name, md5('n' || g), md5('i' || g), :date_of_death,
               :age_at_death_days, (ARRAY['0-27 days','28-364 days','1-4 years','5-9 years',
               '10-14 years','15-17 years'])[1 + g % 6], CASE WHEN g % 2 = 0 THEN 'female' ELSE 'male' END,
               'White British', 1 + g % 10, 'hospital', g % 3 <> 0, '[]', 'Consultant', :notifier_email,
               d, CASE WHEN d < :cutoff THEN d + 300 END, :family_context, now()
           FROM generate_series(1, :n) AS g,
                LATERAL (SELECT :start + (g::bigint * 3650 / :n)::int AS d) AS notified""",
        f"""INSERT INTO agency_requests (case_id, agency_id, forms, status, requested_on, due_on,
               returned_on, ladder_step)
           SELECT c.id, 1 + (c.id + k) % {AGENCIES}, '[]',
               CASE WHEN NOT ({open_}) THEN 'returned'
                    WHEN c.id % 5 = 0 THEN 'pending'
                    WHEN c.id % 5 IN (1, 2) AND k = 1 THEN 'sent'
                    ELSE 'returned' END,
               c.notified_on + 2, c.notified_on + 30, c.notified_on + 20, 0
           FROM cases c, generate_series(1, :r) AS k""",
        f"""INSERT INTO investigations (case_id, kind, status, started_on)
           SELECT c.id, 'post_mortem',
               CASE WHEN {open_} AND c.id % 5 = 3 THEN 'in_progress' ELSE 'concluded' END, c.notified_on
           FROM cases c""",
        f"""INSERT INTO meeting_allocations (meeting_id, case_id, allocated_on)
           SELECT 1, c.id, :today FROM cases c WHERE {open_} AND c.id % 10 = 9""",
        """INSERT INTO outbox_messages (business_key, message_id, kind, sequence, case_id, agency_id,
               request_id, to_addrs, cc_addrs, subject, secure_route, business_date, params, status,
               sent_at, attempts, created_at)
           SELECT 'bench/' || r.id || '/' || k, '<bench-' || r.id || '-' || k || '@example.nhs.net>',
               'reminder', k, r.case_id, r.agency_id, r.id, '[]', '[]', :subject, true,
               r.requested_on + k, '{}', 'sent', now(), 1, now()
           FROM agency_requests r, generate_series(1, GREATEST(1, :m / :r)) AS k""",
    ]
    with engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql), p)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def seq_scans(engine, statements) -> list[str]:
    """Sequential scans of tables with more than BIG rows in the plans of `statements`."""
    from sqlalchemy import text

    with engine.connect() as conn:
        sizes = dict(conn.execute(text("SELECT relname, reltuples FROM pg_class WHERE relkind = 'r'")).all())
        raw = conn.connection.driver_connection
        found = []
        for sql, params in statements:
            with raw.cursor() as cur:
                cur.execute("EXPLAIN " + sql, params)
                for (line,) in cur.fetchall():
                    if "Seq Scan on " in line:
                        table = line.split("Seq Scan on ")[1].split()[0]
                        if sizes.get(table, 0) > BIG:
                            found.append(f"{table} ({sizes[table]:,.0f} rows): {sql[:90]!r}")
        raw.rollback()
    return found


def pages(settings):
    """The read models each page's route calls, a page of rows each."""
    from cdop.store.db import unit_of_work
    from cdop.views import pipeline
    from cdop.views.cases import case_timeline, case_view

    def pipeline_page():
        with unit_of_work(settings) as uow:
            counts = pipeline.stage_counts(uow.session)
            pipeline.cases_at_stage(uow.session, "gathering_information", TODAY,
                                    total=counts["gathering_information"])

    def case_list_all():
        with unit_of_work(settings) as uow:
            pipeline.case_list(uow.session)

    def case_list_open():
        with unit_of_work(settings) as uow:
            pipeline.case_list(uow.session, open_only=True)

    def one_case():
        with unit_of_work(settings) as uow:
            case_view(uow.session, "C0000007", settings.policy)
            case_timeline(uow.session, "C0000007")

    return {"pipeline page (counts + a stage's first page)": pipeline_page,
            "case list, all cases, first page": case_list_all,
            "case list, open cases, first page": case_list_open,
            "one case's page (view + timeline)": one_case}


def size(cases: int, args) -> dict:
    from cdop.config import settings_from_env
    from cdop.store.db import make_engine, migrate

    with scratch_postgres("cdop_growth") as url:
        env = {"CDOP_DATABASE_URL": url, "CDOP_HOME": tempfile.mkdtemp(prefix="cdop-bench-"),
               "CDOP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
               "CDOP_POLICY_FILE": str(ROOT / "tests/support/office_policy.toml")}
        settings = settings_from_env(env)
        migrate(settings)
        engine = make_engine(settings)
        started = time.perf_counter()
        load(engine, cases, args.requests, args.messages)
        loaded = time.perf_counter() - started
        out = {"cases": cases, "load_s": loaded, "pairs": {}, "scans": []}
        raw = engine.raw_connection()
        try:
            for name, page in pages(settings).items():
                statements = captured_statements(engine, page)[1]
                out["pairs"][name] = (interleaved(f"{name}, {cases:,} cases", page, replayed(raw, statements),
                                                  pairs=args.pairs), len(statements))
                if args.explain:
                    out["scans"] += [f"{name}: {s}" for s in seq_scans(engine, statements)]
        finally:
            raw.close()
        engine.dispose()
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="cases, comma-separated (e.g. 10000,100000,1000000)")
    parser.add_argument("--requests", type=int, default=15, help="agency requests per case")
    parser.add_argument("--messages", type=int, default=30, help="outbox messages per case")
    parser.add_argument("--pairs", type=int, default=7, help="interleaved pairs per figure")
    parser.add_argument("--explain", action="store_true", help="print sequential scans of big tables")
    args = parser.parse_args()
    if not 1 <= args.requests <= AGENCIES:
        parser.error(f"--requests: between 1 and {AGENCIES} (one request of each agency at most)")
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"pages as the caseload grows, PostgreSQL; {args.requests} requests and {args.messages} outbox "
          f"messages a case; read model beside its SQL, interleaved")
    print(HEADER + "   growth now / SQL")
    previous: dict | None = None
    for cases in sizes:
        r = size(cases, args)
        print(f"-- {cases:,} cases, {cases * args.requests:,} requests, "
              f"{cases * args.requests * max(1, args.messages // args.requests):,} messages "
              f"(loaded in {r['load_s']:.0f} s)", flush=True)
        for name, (pair, n) in r["pairs"].items():
            growth = ""
            if previous is not None:
                before = previous["pairs"][name][0]
                growth = f"   x{pair.now_s / before.now_s:.2f} / x{pair.floor_s / before.floor_s:.2f}"
            print(f"{pair.line()}  [{n} statements]{growth}", flush=True)
        for scan in r["scans"]:
            print(f"   seq scan: {scan}")
        previous = r
    print("\nrequirement: every page under 100 ms at 100,000 cases; growth about x1 from one size to the "
          "next (the cost follows the rows shown, not the caseload); a count of what a page shows grows "
          "with what it counts")


if __name__ == "__main__":
    main()
