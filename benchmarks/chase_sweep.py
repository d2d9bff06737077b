"""Benchmark: the chase sweep's selection of what is due, on PostgreSQL, at two backlogs.

Creates a throwaway database on 127.0.0.1:5432 (user postgres) for each scenario, bulk
loads cases and agency requests with COPY (identifiable fields hold one precomputed
encrypted token), and times:

- the selection the sweep runs (chasing.due_for_chase: the requests, their case numbers
  and agencies),
- the whole sweep (chasing.plan_chases: queue one outbox message per due request),

with EXPLAIN showing the (status, next_chase_on) index at work. The databases are
dropped afterwards. Usage:  python benchmarks/chase_sweep.py [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import text  # noqa: E402

from tests.support.scratch import scratch_postgres  # noqa: E402

TODAY = dt.date(2027, 3, 1)
AGENCIES = 500
PER_CASE = 10  # agency requests per case


def copy(cursor, table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)


def load(settings, cases: int, requests: int, due: int) -> None:
    """Agencies, `cases` cases and `requests` requests of which `due` are due a step today.
    The rest: 80% returned, the others sent but not due yet (or not chased any more)."""
    from cdop.confidentiality import crypto
    from cdop.store.db import make_engine

    engine = make_engine(settings)
    token = crypto.encrypt("Fictional")
    index = "0" * 64
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        copy(cur, "agencies", ["id", "code", "name", "agency_type", "request_email", "escalation_email",
                               "secure_email", "active"],
             ((i, f"AG{i:04d}", f"Agency {i}", "hospital_trust", f"cdr{i}@nhs.net", f"lead{i}@nhs.net",
               "t", "t") for i in range(1, AGENCIES + 1)))
        died = dt.date(2026, 6, 1)
        died_token, age_token, family_token = (crypto.encrypt(v) for v in (died.isoformat(), "400", "{}"))
        copy(cur, "cases", ["id", "case_number", "forenames", "surname", "date_of_birth", "identity_index",
                            "date_of_death", "age_at_death_days", "age_band", "sex", "ethnicity",
                            "place_of_death", "death_expected", "circumstances", "notified_on",
                            "family_context", "created_at"],
             ((i, f"CDOP-2026-{i:06d}", token, token, token, index, died_token, age_token, "1-4 years",
               "female", "not_stated", "hospital", "f", "[]", died, family_token, "2026-06-02 09:00:00")
              for i in range(1, cases + 1)))
        # Spread the due requests evenly through the table, as they would be in life.
        every = requests // due if due else requests + 1
        requested, due_on = dt.date(2026, 12, 1), dt.date(2026, 12, 30)

        def rows():
            for i in range(requests):
                case_id = i // PER_CASE + 1
                agency_id = (case_id * 7 + i % PER_CASE) % AGENCIES + 1
                if due and i % every == 0 and i // every < due:
                    status, nxt, step, returned = "sent", TODAY - dt.timedelta(days=i % 20), i % 3, None
                elif i % 10 < 8:
                    status, nxt, step, returned = "returned", None, 0, dt.date(2027, 1, 4)
                elif i % 10 == 8:
                    status, nxt, step, returned = "sent", TODAY + dt.timedelta(days=1 + i % 30), 1, None
                else:
                    status, nxt, step, returned = "sent", None, 3, None  # ladder complete
                yield (i + 1, case_id, agency_id, '["reporting"]', status, requested, due_on, returned,
                       step, nxt)

        copy(cur, "agency_requests", ["id", "case_id", "agency_id", "forms", "status", "requested_on",
                                      "due_on", "returned_on", "ladder_step", "next_chase_on"], rows())
        for table in ("agencies", "cases", "agency_requests"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        raw.commit()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()


def time_selection(settings, repeats: int = 5) -> tuple[float, int]:
    from cdop.requests.chasing import due_for_chase
    from cdop.store.db import unit_of_work

    timings, found = [], 0
    for _ in range(repeats):
        with unit_of_work(settings) as uow:
            started = time.perf_counter()
            found = len(uow.session.scalars(due_for_chase(TODAY)).all())
            timings.append(time.perf_counter() - started)
    return statistics.median(timings), found


def explain(settings) -> str:
    from cdop.requests.chasing import due_for_chase
    from cdop.store.db import make_engine

    engine = make_engine(settings)
    query = due_for_chase(TODAY).compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        plan = conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {query}")).scalars().all()
    return "\n".join("    " + line for line in plan)


def scenario(cases: int, requests: int, due: int, *, sweep: bool, show_plan: bool) -> dict:
    from cdop.config import settings_from_env
    from cdop.requests.chasing import plan_chases
    from cdop.store.db import migrate

    with scratch_postgres("cdop_bench") as url:
        home = tempfile.mkdtemp(prefix="cdop-bench-")
        settings = settings_from_env({"CDOP_DATABASE_URL": url, "CDOP_HOME": home,
                                      "CDOP_ENCRYPTION_KEYS": Fernet.generate_key().decode()})
        migrate(settings)
        started = time.perf_counter()
        load(settings, cases, requests, due)
        loaded = time.perf_counter() - started
        selection, found = time_selection(settings)
        assert found == due, (found, due)
        result = {"cases": cases, "requests": requests, "due": due, "load_s": loaded,
                  "select_s": selection, "sweep_s": None, "queued": None}
        if show_plan:
            result["plan"] = explain(settings)
        if sweep:
            started = time.perf_counter()
            result["queued"] = len(plan_chases(settings, TODAY))
            result["sweep_s"] = time.perf_counter() - started
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    runs = [
        # backlog 1,000,000 requests / 100,000 cases, 1% due (the requirement)
        (100_000 // scale, 1_000_000 // scale, 10_000 // scale, True, True),
        # backlog ten times smaller, the same number due: the cost should hardly move
        (10_000 // scale, 100_000 // scale, 10_000 // scale, True, False),
        # backlog ten times smaller, 1% due: the cost follows what is due
        (10_000 // scale, 100_000 // scale, 1_000 // scale, True, False),
    ]
    print(f"chase sweep on PostgreSQL, business date {TODAY} (selection: median of 5)")
    print(f"{'cases':>9} {'requests':>10} {'due':>7} {'load s':>7} {'select s':>9} {'sweep s':>8} {'queued':>7}")
    plans = []
    for cases, requests, due, sweep, show_plan in runs:
        r = scenario(cases, requests, due, sweep=sweep, show_plan=show_plan)
        sweep_s = f"{r['sweep_s']:.2f}" if r["sweep_s"] is not None else "-"
        print(f"{r['cases']:>9,} {r['requests']:>10,} {r['due']:>7,} {r['load_s']:>7.1f} "
              f"{r['select_s']:>9.3f} {sweep_s:>8} {r['queued'] or '-':>7}", flush=True)
        if "plan" in r:
            plans.append((requests, r["plan"]))
    for requests, plan in plans:
        print(f"\nEXPLAIN ANALYZE of the selection at {requests:,} requests:\n{plan}")
    print("\nrequirement: selection < 2 s at 1,000,000 requests; its cost follows what is due")


if __name__ == "__main__":
    main()
