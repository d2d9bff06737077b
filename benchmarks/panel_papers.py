"""Benchmark: building case reports and sending a meeting's papers.

In a throwaway SQLite database (or PostgreSQL with --postgres), brings N fictional cases
to "ready for panel" through the real services (each with three returns of 15
chronology entries, two concluded processes and family identifiers), then times:

- assembly (case_reports.assemble_reports): render HTML, render the PDF, run the
  anonymisation gate over the HTML, its text and the PDF's extracted text, encrypt and
  store both files, per report;
- a meeting's papers: 8 cases allocated, 8 members (7 on a secure route), plan and
  deliver the packs (each composed at send time and gated, PDFs attached) to an
  in-memory mailer, per message.

Usage:  python benchmarks/panel_papers.py [--cases 40] [--postgres]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))

from cryptography.fernet import Fernet  # noqa: E402

from tests.support.scratch import scratch_postgres  # noqa: E402

D = dt.date


class NullMailer:
    def __init__(self):
        self.sent = []

    def send(self, email) -> None:
        self.sent.append(email)

    def close(self) -> None:
        pass


def make_ready(settings, count: int) -> list[str]:
    import csv

    from cdop.dev.demo import demo_nhs_number
    from cdop.intake.agencies import import_agencies
    from cdop.intake.family import record_family
    from cdop.intake.investigations import record_investigation
    from cdop.intake.notifications import register_notifications
    from cdop.requests.agency_requests import plan_agency_requests
    from cdop.requests.returns import record_return, record_return_content
    from cdop.sending import delivery

    with (ROOT / "include/cdop/data/demo_agencies.csv").open(newline="") as fh:
        import_agencies(settings, list(csv.DictReader(fh)))
    rng = random.Random(7)
    numbers = []
    for i in range(count):
        notified = D(2026, 9, 1) + dt.timedelta(days=i % 40)
        died = notified - dt.timedelta(days=2)
        row = {"forenames": "Zebedee Quintus", "surname": f"Surname{i:03d}",
               "date_of_birth": (died - dt.timedelta(days=400 + i)).isoformat(),
               "date_of_death": died.isoformat(), "nhs_number": demo_nhs_number(rng), "sex": "female",
               "place_of_death": "hospital", "expected": "no", "postcode": "DT1 1AA",
               "address": "1 Example Street, Demotown", "agencies": ["RUH", "GPHC", "CSC"],
               "investigations": ["post_mortem", "cdrm"], "notified_on": notified.isoformat()}
        [number] = register_notifications(settings, [row], today=notified, first_row=None)
        plan_agency_requests(settings, notified)
        delivery.deliver(settings, NullMailer(), actor="bench")
        done = notified + dt.timedelta(days=30)
        for code in ("RUH", "GPHC", "CSC"):
            record_return(settings, number, code, received_on=done, today=done)
            record_return_content(settings, number, code, today=done,
                                  summary="A summary of the agency's involvement. " * 12,
                                  entries=[{"date": (died - dt.timedelta(days=k * 9 + 1)).isoformat(),
                                            "what_happened": f"Contact {k}: seen, assessed and advised. " * 3}
                                           for k in range(15)])
        for kind in ("post_mortem", "cdrm"):
            record_investigation(settings, number, kind, status="concluded", on=done, today=done,
                                 outcome="Concluded; natural causes; findings shared.")
        record_family(settings, number, context={"siblings": ["5-9 years"], "key_worker_offered": "yes"},
                      identifiers=[{"field": "parent_name", "value": f"Parent Surname{i:03d}"},
                                   {"field": "school", "value": "Example Primary School"}])
        numbers.append(number)
    return numbers


def run(settings, count: int) -> None:
    from cdop.panel import meetings as panel
    from cdop.panel import papers
    from cdop.panel.case_reports import assemble_reports, decide
    from cdop.sending import delivery

    started = time.perf_counter()
    numbers = make_ready(settings, count)
    print(f"setup: {count} ready cases in {time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    result = assemble_reports(settings, D(2027, 1, 4))
    took = time.perf_counter() - started
    print(f"assembly: {len(result['built'])} reports built, {len(result['blocked'])} blocked, "
          f"{took:.2f} s, {took / count * 1000:.0f} ms per report (HTML, PDF, gate x3, encrypt)")
    started = time.perf_counter()
    assemble_reports(settings, D(2027, 1, 4))
    print(f"assembly rerun (nothing to build): {(time.perf_counter() - started) * 1000:.0f} ms")

    for number in numbers[:8]:
        decide(settings, number, approve=True, comments=None, actor="bench", today=D(2027, 1, 5))
    meeting_day = D(2027, 2, 18)
    panel.add_meeting(settings, meets_on=meeting_day, capacity=8, today=D(2027, 1, 5))
    for m in range(8):
        email = f"member{m}@nhs.net" if m < 7 else "lay.member@example.org"
        panel.add_member(settings, name=f"Member {m}", role="Member", email=email)
    panel.allocate_cases(settings, D(2027, 1, 6))
    started = time.perf_counter()
    planned = papers.plan_panel_papers(settings, panel.pack_date(settings.policy, meeting_day))
    plan_took = time.perf_counter() - started
    mailer = NullMailer()
    timings = []
    started = time.perf_counter()
    report = delivery.deliver(settings, mailer, kinds=list(panel.KINDS))
    took = time.perf_counter() - started
    sizes = [sum(len(a.content) for a in e.attachments) for e in mailer.sent]
    timings.append(took)
    print(f"papers: planned {planned['packs']} packs in {plan_took * 1000:.0f} ms; composed, gated and "
          f"delivered {report.as_dict()['sent']} in {took:.2f} s ({took / len(mailer.sent) * 1000:.0f} ms per "
          f"message; attachments {statistics.mean(sizes) / 1024:.0f} KiB on average)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    from cdop.config import Settings, SmtpSettings, load_policy
    from cdop.store.db import dispose_engines, migrate

    with tempfile.TemporaryDirectory() as home:
        database = (scratch_postgres("cdop_bench") if args.postgres
                    else nullcontext(f"sqlite:///{home}/bench.sqlite"))
        with database as url:
            settings = Settings(database_url=url, encryption_keys=(Fernet.generate_key().decode(),),
                                policy=load_policy(None), smtp=SmtpSettings(), home=Path(home), actor="bench")
            try:
                migrate(settings)
                print(f"backend: {'PostgreSQL' if args.postgres else 'SQLite'}")
                run(settings, args.cases)
            finally:
                dispose_engines()


if __name__ == "__main__":
    main()
