"""Benchmark: 1,000 reminders through the outbox to the local SMTP server.

Builds a throwaway CDOP database (SQLite by default; --postgres for a throwaway database
on 127.0.0.1:5432) with 100 fictional cases of 10 agency requests each, all due their
first reminder, then times the chase sweep (queue) and the delivery (claim, compose,
send over SMTP, mark sent, move the request up the ladder) to cdop.dev.smtp_sink on a free
loopback port. Usage:  python benchmarks/send_reminders.py [--postgres] [--count N]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import shutil
import socket
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import text, update  # noqa: E402

from tests.support.scratch import scratch_postgres  # noqa: E402

TODAY = dt.date(2027, 1, 11)
PER_CASE = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", action="store_true", help="use a throwaway PostgreSQL database")
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args()

    from cdop.config import settings_from_env
    from cdop.dev import smtp_sink
    from cdop.mail import delivery
    from cdop.mail.mailer import SmtpMailer
    from cdop.requests import chasing
    from cdop.store.db import dispose_engines

    home = Path(tempfile.mkdtemp(prefix="cdop-bench-"))
    database = (scratch_postgres("cdop_bench") if args.postgres
                else nullcontext(f"sqlite:///{home / 'cdop.sqlite'}"))
    with database as url:
        port = free_port()
        settings = settings_from_env({"CDOP_DATABASE_URL": url, "CDOP_HOME": str(home),
                                      "CDOP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                                      "CDOP_SMTP_PORT": str(port)})
        controller = smtp_sink.start(home / "mail", port=port)
        try:
            setup(settings, args.count)
            started = time.perf_counter()
            queued = chasing.plan_chases(settings, TODAY)
            planned_s = time.perf_counter() - started

            mailer = SmtpMailer(settings.smtp, settings.policy.mail_from)
            started = time.perf_counter()
            report = delivery.deliver(settings, mailer, kinds=chasing.KINDS)
            sent_s = time.perf_counter() - started
            mailer.close()
            received = len(list((home / "mail").glob("*.eml")))
            backend = "PostgreSQL" if args.postgres else "SQLite"
            print(f"reminders through the outbox to the local SMTP server ({backend})")
            print(f"  queued by the chase sweep  {len(queued):>6}  in {planned_s:6.2f} s")
            print(f"  sent and marked sent       {len(report.sent):>6}  in {sent_s:6.2f} s  "
                  f"({len(report.sent) / sent_s:.0f} per second)")
            print(f"  received by the SMTP server {received:>5}")
            print(f"  failed {len(report.failed)}   requirement: 1,000 in under 30 s")
        finally:
            controller.stop()
            dispose_engines()
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
