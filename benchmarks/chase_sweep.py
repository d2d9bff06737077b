"""Benchmark: the chase sweep on PostgreSQL, each figure beside its floor, at two backlogs.

Creates a throwaway database on 127.0.0.1:5432 (user postgres) for each scenario, bulk
loads cases and agency requests with COPY (identifiable fields hold one precomputed
encrypted token), and times, interleaved with its floor (A B A B ..., medians):

- the selection the sweep runs (chasing.due_for_chase: the due requests, their case
  numbers and agencies, as plain rows) against the same SELECT by hand on a raw cursor;
- the whole sweep (chasing.plan_chases: queue one outbox message per due request, and
  commit) against one hand-written INSERT ... SELECT ... ON CONFLICT DO NOTHING that
  queues the same messages (checked: the two outboxes are identical);

then the sweep's statements, and its peak memory at the largest size, run in a fresh
child process (its own VmHWM). The databases are dropped afterwards.
Usage:  python benchmarks/chase_sweep.py [--quick] [--pairs N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "include"), str(ROOT)]

from _compare import HEADER, in_fresh_child, interleaved  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import event, text  # noqa: E402

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
    from cdop import crypto
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


# The selection, by hand: the same rows as chasing.due_for_chase.
FLOOR_SELECT = """
SELECT r.id, r.ladder_step, r.next_chase_on, c.id, c.case_number, c.closed_on,
       a.id, a.code, a.name, a.request_email, a.escalation_email
FROM agency_requests r JOIN cases c ON c.id = r.case_id JOIN agencies a ON a.id = r.agency_id
WHERE r.status = 'sent' AND r.next_chase_on <= %(today)s
ORDER BY r.next_chase_on, r.id
"""

# The sweep, by hand: the same messages plan_chases queues under the default ladder
# (reminder, reminder, escalation), for agencies whose addresses are all secure; the
# stored subject is one of two generic ones, encrypted once per run (see
# chasing._chase_messages).
FLOOR_SWEEP = """
INSERT INTO outbox_messages (business_key, message_id, kind, sequence, case_id, agency_id, request_id,
    to_addrs, cc_addrs, subject, secure_route, business_date, params, status, attempts, created_at)
SELECT k.key, '<' || substr(encode(sha256(convert_to(k.key, 'UTF8')), 'hex'), 1, 40) || '@' || %(domain)s || '>',
       CASE WHEN k.step = 3 THEN 'chase_escalation' ELSE 'chase_reminder' END, k.step, k.case_id, k.agency_id,
       k.id,
       CASE WHEN k.step < 3 THEN json_build_array(k.request_email)
            WHEN coalesce(k.escalation_email, '') <> '' THEN json_build_array(k.escalation_email)
            ELSE json_build_array(%(coordinator)s) END,
       CASE WHEN k.step = 3 AND coalesce(k.escalation_email, '') <> '' THEN json_build_array(%(coordinator)s)
            ELSE json_build_array() END,
       CASE WHEN k.step < 3 THEN %(reminder_subject)s ELSE %(escalation_subject)s END,
       k.secure_email, %(today)s,
       json_build_object('step', k.step, 'action', CASE WHEN k.step < 3 THEN 'reminder' ELSE 'escalation' END),
       'pending', 0, now() AT TIME ZONE 'utc'
FROM (SELECT r.id, r.case_id, r.agency_id, r.ladder_step + 1 AS step, c.case_number, a.name,
             a.request_email, a.escalation_email, a.secure_email,
             c.case_number || '/' || a.code || '/chase/' || (r.ladder_step + 1) AS key, r.next_chase_on
      FROM agency_requests r JOIN cases c ON c.id = r.case_id JOIN agencies a ON a.id = r.agency_id
      WHERE r.status = 'sent' AND r.next_chase_on <= %(today)s AND c.closed_on IS NULL
        AND r.ladder_step < 3
      ORDER BY r.next_chase_on, r.id) k
ON CONFLICT (business_key) DO NOTHING
RETURNING id
"""

# What two outboxes must agree on, as one digest (the subject apart: its ciphertext
# differs from one encryption to the next; OUTBOX_SUBJECTS compares the plain text).
OUTBOX_DIGEST = """
SELECT md5(string_agg(concat_ws('|', business_key, message_id, kind, sequence, case_id, agency_id, request_id,
                                to_addrs::jsonb::text, cc_addrs::jsonb::text, secure_route,
                                business_date, params::jsonb::text, status, attempts), E'\n'
                      ORDER BY business_key)), count(*)
FROM outbox_messages
"""
OUTBOX_SUBJECTS = "SELECT DISTINCT kind, subject FROM outbox_messages"


class Raw:
    """One raw psycopg2 connection for the floors (no ORM, no SQLAlchemy)."""

    def __init__(self, engine):
        self.conn = engine.raw_connection()

    def run(self, sql: str, params: dict | None = None, commit: bool = False) -> list:
        cur = self.conn.cursor()
        cur.execute(sql, params or {})
        rows = cur.fetchall() if cur.description else []
        if commit:
            self.conn.commit()
        else:
            self.conn.rollback()
        return rows

    def close(self) -> None:
        self.conn.close()


def count_statements(engine, work) -> tuple[object, int]:
    seen = []

    def listen(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", listen)
    try:
        return work(), len(seen)
    finally:
        event.remove(engine, "before_cursor_execute", listen)


MEMORY_CHILD = """
import datetime as dt
from cdop.config import settings_from_env
from cdop.requests.chasing import plan_chases
RESULT = len(plan_chases(settings_from_env(), dt.date.fromisoformat(TODAY)))
"""


def scenario(cases: int, requests: int, due: int, *, pairs: int, memory: bool, show_plan: bool) -> dict:
    from cdop.config import settings_from_env
    from cdop.requests.chasing import due_for_chase, plan_chases
    from cdop.store.db import make_engine, migrate, unit_of_work

    with scratch_postgres("cdop_bench") as url:
        home = tempfile.mkdtemp(prefix="cdop-bench-")
        env = {"CDOP_DATABASE_URL": url, "CDOP_HOME": home, "CDOP_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "CDOP_POLICY_FILE": str(ROOT / "tests/support/office_policy.toml")}
        settings = settings_from_env(env)
        migrate(settings)
        load(settings, cases, requests, due)
        engine = make_engine(settings)
        raw = Raw(engine)
        policy = settings.policy
        from cdop import crypto
        from cdop.requests.chasing import _STORED_SUBJECT

        params = {"today": TODAY, "domain": policy.mail_domain, "coordinator": policy.coordinator_email,
                  "reminder_subject": crypto.encrypt(_STORED_SUBJECT["reminder"]),
                  "escalation_subject": crypto.encrypt(_STORED_SUBJECT["escalation"])}

        def outbox_digest():
            subjects = {(kind, crypto.decrypt(token)) for kind, token in raw.run(OUTBOX_SUBJECTS)}
            return raw.run(OUTBOX_DIGEST)[0], sorted(subjects)
        label = f"{requests:,} requests / {due:,} due"
        out = {"label": label, "requests": requests, "due": due}

        def select_now():
            with unit_of_work(settings) as uow:
                rows = uow.session.execute(due_for_chase(TODAY)).all()
            assert len(rows) == due, (len(rows), due)

        def select_floor():
            rows = raw.run(FLOOR_SELECT, params)
            assert len(rows) == due, (len(rows), due)

        out["select"] = interleaved(f"due-request selection, {label}", select_now, select_floor, pairs=pairs)

        def reset():
            raw.run("TRUNCATE outbox_messages CASCADE", commit=True)

        digests = {}

        def sweep_now():
            assert len(plan_chases(settings, TODAY)) == due
            digests.setdefault("now", outbox_digest())

        def sweep_floor():
            assert len(raw.run(FLOOR_SWEEP, params, commit=True)) == due
            digests.setdefault("floor", outbox_digest())

        out["sweep"] = interleaved(f"chase sweep (queue + commit), {label}", sweep_now, sweep_floor,
                                   pairs=pairs, reset=reset)
        assert digests["now"] == digests["floor"], digests  # the same messages, field for field
        reset()
        _, out["statements"] = count_statements(engine, lambda: plan_chases(settings, TODAY))
        if show_plan:
            query = due_for_chase(TODAY).compile(engine, compile_kwargs={"literal_binds": True})
            with engine.connect() as conn:
                plan = conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {query}")).scalars().all()
            out["plan"] = "\n".join("    " + line for line in plan)
        if memory:
            reset()
            child = in_fresh_child(f"TODAY = {TODAY.isoformat()!r}\n" + MEMORY_CHILD, env)
            assert child["result"] == due
            out["peak_mib"] = child["peak_mib"]
        raw.close()
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--pairs", type=int, default=5, help="interleaved pairs per figure")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    runs = [
        # (cases, requests, due): two backlogs for each number due
        (100_000 // scale, 1_000_000 // scale, 10_000 // scale),
        (10_000 // scale, 100_000 // scale, 10_000 // scale),
        (100_000 // scale, 1_000_000 // scale, 100_000 // scale),
        (20_000 // scale, 200_000 // scale, 100_000 // scale),
    ]
    print(f"chase sweep on PostgreSQL, business date {TODAY}; now beside its floor, interleaved")
    print(HEADER)
    results = []
    for i, (cases, requests, due) in enumerate(runs):
        r = scenario(cases, requests, due, pairs=args.pairs, memory=(i == 2), show_plan=(i == 0))
        results.append(r)
        print(r["select"].line(), flush=True)
        print(r["sweep"].line() + f"  [{r['statements']} statements]", flush=True)
    for r in results:
        if "peak_mib" in r:
            print(f"\npeak memory of the sweep, {r['label']}, fresh child process (its own VmHWM): "
                  f"{r['peak_mib']:.0f} MiB (limit 300 MiB)")
        if "plan" in r:
            print(f"\nEXPLAIN ANALYZE of the selection, {r['label']}:\n{r['plan']}")
    print("\nrequirement: each ratio <= 2x; the sweep at 1,000,000 requests / 100,000 due < 5 s; "
          "its cost follows what is due, not the backlog")


if __name__ == "__main__":
    main()
