"""Fault run: an outbox of agency requests delivered by real processes that are killed
(SIGKILL) mid-message, then finished by a clean run; counts what the recipients got.

For SQLite and PostgreSQL (a throwaway database on 127.0.0.1:5432): queues `--cases` x 4
agency requests, then `--kills` times starts a deliverer (the production defaults: batch
size, mark-sent cadence) against a loopback SMTP server that never answers one DATA
command chosen at random, kills the deliverer with SIGKILL while the server holds it,
and lets the leases run out; finally delivers what is left with a healthy server.
Prints, per backend:

  lost       messages neither received nor held
  new_id     messages received under more than one Message-ID (a duplicate a mail
             client cannot fold)
  repeats    copies received beyond the first with the same Message-ID (the window
             after a kill: accepted by the server, not yet marked sent)
  held       messages held at the end

Usage:  python benchmarks/outbox_faults.py [--backend sqlite|postgresql|both] [--cases N] [--kills N] [--seed N]
"""

from __future__ import annotations

import argparse
import collections
import csv
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import select, update  # noqa: E402

from tests.support.scratch import scratch_postgres  # noqa: E402

TODAY = dt.date(2026, 11, 26)
AGENCIES = ["RUH", "GPHC", "POL", "SCH1"]
NAMES = [("Łukasz", "Weiß"), ("Hope", "O'Neill"), ("Grace", "O’Neill-Smith"), ("Will", "Søren"), ("May", "Brown")]
DELIVERER = """
from cdop.config import get_settings
from cdop.sending import delivery
from cdop.mail.mailer import SmtpMailer
settings = get_settings()
mailer = SmtpMailer(settings.smtp, settings.policy.mail_from)
try:
    delivery.deliver(settings, mailer, kinds=["agency_request"])
finally:
    mailer.close()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def queue(settings, cases: int) -> int:
    from cdop.dev.demo import DATA, demo_nhs_number
    from cdop.intake.agencies import import_agencies
    from cdop.intake.notifications import register_notifications
    from cdop.requests.agency_requests import plan_agency_requests
    from cdop.store.db import migrate

    migrate(settings)
    with (DATA / "demo_agencies.csv").open(newline="") as fh:
        import_agencies(settings, list(csv.DictReader(fh)))
    rng = random.Random(7)
    rows = []
    for i in range(cases):
        forenames, surname = NAMES[i % len(NAMES)]
        rows.append({"forenames": forenames, "surname": surname, "date_of_birth": (dt.date(2012, 1, 1) + dt.timedelta(days=i)).isoformat(),
                     "date_of_death": "2026-11-20", "nhs_number": demo_nhs_number(rng), "sex": "female",
                     "place_of_death": "home", "expected": "no", "agencies": AGENCIES})
    register_notifications(settings, rows, today=TODAY, first_row=None)
    return len(plan_agency_requests(settings, TODAY))


def expire_leases(settings) -> None:
    from cdop.store.db import unit_of_work
    from cdop.store.models import OutboxMessage

    with unit_of_work(settings) as uow:
        uow.session.execute(update(OutboxMessage).where(OutboxMessage.status == "sending").values(
            claimed_at=dt.datetime.utcnow() - dt.timedelta(minutes=settings.policy.send_lease_minutes + 1)))
        uow.commit()


def deliverer(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", DELIVERER], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def received(mail: Path) -> collections.Counter:
    from cdop.dev import smtp_sink

    return collections.Counter((m["X-CDOP-Key"], m["Message-ID"]) for m in smtp_sink.read_messages(mail))


def run(backend: str, cases: int, kills: int, seed: int) -> dict:
    from cdop.config import get_settings, settings_from_env
    from cdop.dev import smtp_sink
    from cdop.store.db import dispose_engines, unit_of_work
    from cdop.store.models import OutboxMessage

    rng = random.Random(seed)
    work = Path(tempfile.mkdtemp(prefix="cdop-faults-"))
    mail, port = work / "mail", free_port()
    scratch = scratch_postgres("cdop_faults") if backend == "postgresql" else nullcontext(
        f"sqlite:///{work / 'cdop.sqlite'}")
    with scratch as url:
        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'include'}{os.pathsep}{ROOT}",
               "CDOP_HOME": str(work / "home"), "CDOP_DATABASE_URL": url,
               "CDOP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
               "CDOP_POLICY_FILE": str(ROOT / "tests/support/office_policy.toml"),
               "CDOP_SMTP_HOST": "127.0.0.1", "CDOP_SMTP_PORT": str(port)}
        settings = settings_from_env(env)
        total = queue(settings, cases)
        kills_done = 0
        for _ in range(kills):
            with unit_of_work(settings) as uow:
                left = len(uow.session.scalars(select(OutboxMessage.id).where(
                    OutboxMessage.status.in_(("pending", "sending")))).all())
            if left < 2:
                break
            sink = smtp_sink.start(mail, port=port, hang_on={rng.randint(2, left)})
            try:
                victim = deliverer(env)
                while not sink.handler.hanging.is_set():
                    if victim.poll() is not None:
                        raise RuntimeError(victim.stderr.read()[-2000:])
                    time.sleep(0.02)
                victim.send_signal(signal.SIGKILL)
                victim.wait(timeout=60)
            finally:
                sink.stop()
            expire_leases(settings)
            kills_done += 1
        sink = smtp_sink.start(mail, port=port)
        try:
            for _ in range(2):
                finisher = deliverer(env)
                finisher.wait(timeout=600)
        finally:
            sink.stop()
        got = received(mail)
        with unit_of_work(settings) as uow:
            rows = uow.session.execute(select(OutboxMessage.business_key, OutboxMessage.message_id,
                                              OutboxMessage.status)).all()
        dispose_engines()
        get_settings.cache_clear()
    ids_by_key: dict[str, set[str]] = collections.defaultdict(set)
    for (key, message_id), _count in got.items():
        ids_by_key[key].add(message_id)
    held = [key for key, _, status in rows if status == "held"]
    lost = [key for key, _, status in rows if key not in ids_by_key and status != "held"]
    new_id = [key for key, ids in ids_by_key.items() if len(ids) > 1]
    repeats = sum(n - 1 for n in got.values())
    return {"backend": backend, "messages": total, "kills": kills_done, "lost": len(lost),
            "new_id": len(new_id), "repeats": repeats, "held": len(held),
            "states": dict(collections.Counter(status for *_, status in rows))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cases", type=int, default=140)
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        print(run(backend, args.cases, args.kills, args.seed), flush=True)


if __name__ == "__main__":
    main()
