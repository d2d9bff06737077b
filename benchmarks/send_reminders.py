"""Benchmark: 1,000 reminders through the outbox to a loopback SMTP server, beside its floor.

For SQLite and PostgreSQL (a throwaway database on 127.0.0.1:5432), builds 100 fictional
cases of 10 agency requests each, all due their first reminder, queues the reminders with
the chase sweep, then times, interleaved (A B A B ..., medians of --pairs pairs):

  A  the project: deliver() -- claim, compose, send over SMTP, mark sent, move each
     request up the ladder and audit it -- to cdop.dev.smtp_sink (a process of its own) on a free loopback port;
  B  the floor: a raw smtplib loop over one connection sending the same composed
     messages (composed once, beforehand), to the same server.

Between two A runs the outbox and the requests are put back as they were. Statements
and commits are counted with SQLAlchemy event listeners; time in the database is the time
spent executing statements and commits, time in SMTP the time inside smtplib's sendmail.

Usage:  python benchmarks/send_reminders.py [--backend sqlite|postgresql|both] [--count N] [--pairs N]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import delete, event, text, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from tests.support.scratch import scratch_postgres  # noqa: E402

TODAY = dt.date(2027, 1, 11)
PER_CASE = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink(directory: Path, port: int) -> subprocess.Popen:
    """cdop.dev.smtp_sink in a process of its own, as a real server would be: in this
    process it would compete with the sender for the interpreter lock."""
    code = ("import sys; from pathlib import Path; from cdop.dev import smtp_sink; "
            "smtp_sink.serve_forever(Path(sys.argv[1]), port=int(sys.argv[2]))")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "include")}
    proc = subprocess.Popen([sys.executable, "-c", code, str(directory), str(port)], env=env,
                            stdout=subprocess.DEVNULL)
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the SMTP sink did not start")


def setup(settings, count: int) -> None:
    """`count` sent requests (10 agencies per case), all due their first reminder today."""
    import random

    from cdop.dev.demo import DATA, demo_nhs_number
    from cdop.intake.agencies import import_agencies
    from cdop.intake.notifications import register_notifications
    from cdop.store.db import migrate, unit_of_work
    from cdop.store.models import AgencyRequest

    migrate(settings)
    with (DATA / "demo_agencies.csv").open(newline="") as fh:
        import_agencies(settings, list(csv.DictReader(fh)))
    codes = ["RUH", "NCH", "GPHC", "GPMV", "CHS", "WMAS", "POL", "CSC", "EDU", "SCH1"]
    rng = random.Random(1)
    rows = []
    for i in range(-(-count // PER_CASE)):
        died = dt.date(2026, 11, 1) + dt.timedelta(days=i % 20)
        rows.append({
            "forenames": f"Child{i}", "surname": "Fictional", "date_of_birth": "2020-05-01",
            "date_of_death": died.isoformat(), "nhs_number": demo_nhs_number(rng), "sex": "male",
            "place_of_death": "hospital", "expected": "no", "agencies": codes[:PER_CASE],
            "notified_on": "2026-11-23",
        })
    register_notifications(settings, rows, today=dt.date(2026, 11, 23), first_row=None)
    with unit_of_work(settings) as uow:
        ids = [r for (r,) in uow.session.execute(text("SELECT id FROM agency_requests ORDER BY id LIMIT :n"),
                                                  {"n": count})]
        uow.session.execute(
            update(AgencyRequest).where(AgencyRequest.id.in_(ids)).values(
                status="sent", requested_on=dt.date(2026, 11, 23), due_on=dt.date(2026, 12, 21),
                next_chase_on=TODAY))
        uow.commit()


def reset(settings) -> None:
    """Put the reminders back to pending and the requests back on step 0."""
    from cdop.store.db import unit_of_work
    from cdop.store.models import AgencyRequest, AuditEvent, OutboxMessage

    with unit_of_work(settings) as uow:
        uow.session.execute(update(OutboxMessage).values(
            status="pending", claim_token=None, claimed_at=None, sent_at=None, attempts=0, last_error=None))
        uow.session.execute(update(AgencyRequest).where(AgencyRequest.status == "sent").values(
            ladder_step=0, last_chased_on=None, next_chase_on=TODAY))
        uow.session.execute(delete(AuditEvent).where(AuditEvent.action.in_(("message_sent", "chase_sent"))))
        uow.commit()


@dataclass
class Meter:
    """Statements, commits and time in the database, from SQLAlchemy's events."""

    statements: int = 0
    commits: int = 0
    db_s: float = 0.0
    _started: list[float] = field(default_factory=list)
    _commit_started: float | None = None
    on: bool = False

    def install(self, engine) -> None:
        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, params, context, executemany):
            if self.on:
                self.statements += 1
                self._started.append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, params, context, executemany):
            if self.on and self._started:
                self.db_s += time.perf_counter() - self._started.pop()

        @event.listens_for(engine, "commit")
        def _commit(conn):
            if self.on:
                self.commits += 1
                self._commit_started = time.perf_counter()

        @event.listens_for(Session, "after_commit")
        def _committed(session):
            if self.on and self._commit_started is not None:
                self.db_s += time.perf_counter() - self._commit_started
                self._commit_started = None

    def reset(self) -> None:
        self.statements, self.commits, self.db_s = 0, 0, 0.0


class SmtpClock:
    """Time inside smtplib's sendmail (the SMTP conversation itself)."""

    def __init__(self):
        self.seconds = 0.0
        self._original = smtplib.SMTP.sendmail
        clock = self

        def timed(smtp, *args, **kwargs):
            started = time.perf_counter()
            try:
                return clock._original(smtp, *args, **kwargs)
            finally:
                clock.seconds += time.perf_counter() - started

        smtplib.SMTP.sendmail = timed


def composed_messages(settings) -> list[tuple[list[str], bytes]]:
    """The reminders as the outbox composes them, written once: the floor's input."""
    from cdop.mail.mailer import render_message
    from cdop.sending.kinds import REGISTRY
    from cdop.store.db import unit_of_work
    from cdop.store.models import OutboxMessage

    out = []
    with unit_of_work(settings) as uow:
        for message in uow.session.query(OutboxMessage).order_by(OutboxMessage.id):
            email = REGISTRY[message.kind].compose(uow.session, message, settings)
            out.append((email.recipients(), render_message(email)))
    return out


def floor_run(settings, messages) -> float:
    started = time.perf_counter()
    client = smtplib.SMTP(settings.smtp.host, settings.smtp.port, timeout=30)
    for recipients, data in messages:
        client.sendmail(settings.policy.mail_from, recipients, data)
    client.quit()
    return time.perf_counter() - started


def project_run(settings, meter: Meter, clock: SmtpClock) -> tuple[float, int, dict]:
    from cdop.mail.mailer import SmtpMailer
    from cdop.requests import chasing
    from cdop.sending import delivery

    meter.reset()
    clock.seconds = 0.0
    mailer = SmtpMailer(settings.smtp, settings.policy.mail_from)
    meter.on = True
    started = time.perf_counter()
    report = delivery.deliver(settings, mailer, kinds=chasing.KINDS)
    mailer.close()
    elapsed = time.perf_counter() - started
    meter.on = False
    assert not report.failed and not report.held, report.as_dict()
    return elapsed, len(report.sent), {"statements": meter.statements, "commits": meter.commits,
                                       "db_s": meter.db_s, "smtp_s": clock.seconds}


def bench(backend: str, count: int, pairs: int) -> dict:
    from cdop.config import settings_from_env
    from cdop.requests import chasing
    from cdop.store.db import dispose_engines, make_engine

    home = Path(tempfile.mkdtemp(prefix="cdop-bench-"))
    database = (scratch_postgres("cdop_bench") if backend == "PostgreSQL"
                else nullcontext(f"sqlite:///{home / 'cdop.sqlite'}"))
    try:
        with database as url:
            port = free_port()
            settings = settings_from_env({"CDOP_DATABASE_URL": url, "CDOP_HOME": str(home),
                                          "CDOP_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "CDOP_POLICY_FILE": str(ROOT / "tests/support/office_policy.toml"),
                                          "CDOP_SMTP_PORT": str(port)})
            controller = start_sink(home / "mail", port)
            try:
                setup(settings, count)
                queued = chasing.plan_chases(settings, TODAY)
                assert len(queued) == count, len(queued)
                floor_input = composed_messages(settings)
                meter = Meter()
                meter.install(make_engine(settings))
                clock = SmtpClock()
                project, floor, details = [], [], []
                for pair in range(pairs):
                    if pair:
                        reset(settings)
                    elapsed, sent, detail = project_run(settings, meter, clock)
                    assert sent == count, sent
                    project.append(elapsed)
                    details.append(detail)
                    floor.append(floor_run(settings, floor_input))
                received = len(list((home / "mail").glob("*.eml")))
                assert received == 2 * pairs * count, received
            finally:
                smtplib.SMTP.sendmail = clock._original if "clock" in locals() else smtplib.SMTP.sendmail
                controller.terminate()
                controller.wait(timeout=30)
                dispose_engines()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    median = statistics.median
    return {
        "backend": backend, "count": count, "project_s": median(project), "floor_s": median(floor),
        "statements": median(d["statements"] for d in details) / count,
        "commits": median(d["commits"] for d in details) / count,
        "db_s": median(d["db_s"] for d in details), "smtp_s": median(d["smtp_s"] for d in details),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--postgres", action="store_true", help="same as --backend postgresql")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=3, help="interleaved project/floor pairs")
    args = parser.parse_args()
    backend = "postgresql" if args.postgres else args.backend
    backends = {"sqlite": ["SQLite"], "postgresql": ["PostgreSQL"], "both": ["SQLite", "PostgreSQL"]}[backend]
    results = [bench(b, args.count, args.pairs) for b in backends]
    print(f"deliver {args.count} reminders to a loopback SMTP server "
          f"(medians of {args.pairs} interleaved pairs)")
    print(f"{'backend':<11} {'project':>8} {'floor':>7} {'ratio':>6} {'msg/s':>6} {'floor msg/s':>11} "
          f"{'stmts/msg':>9} {'commits/msg':>11} {'in DB':>7} {'in SMTP':>8} {'DB/SMTP':>7}")
    for r in results:
        print(f"{r['backend']:<11} {r['project_s']:>7.2f}s {r['floor_s']:>6.2f}s "
              f"{r['project_s'] / r['floor_s']:>5.2f}x {r['count'] / r['project_s']:>6.0f} "
              f"{r['count'] / r['floor_s']:>11.0f} "
              f"{r['statements']:>9.2f} {r['commits']:>11.3f} {r['db_s']:>6.2f}s {r['smtp_s']:>7.2f}s "
              f"{r['db_s'] / r['smtp_s']:>6.2f}x")
    print("targets: ratio <= 2x; time in DB <= time in SMTP; >= 200 messages a second.\n"
          "The database work runs on a worker thread beside the sends: 'in DB' is its time in\n"
          "statements and commits, overlapping 'in SMTP' (the sends' time inside sendmail).\n"
          "'floor msg/s' is the SMTP server's own pace on this machine now: no sender beats it.")


if __name__ == "__main__":
    main()
