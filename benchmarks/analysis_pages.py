"""The analysis and recommendations pages, and the NCMD export, with 10,000 cases.

Loads the caseload benchmarks/ops_pages.py loads (throwaway SQLite, or --postgres), then
gives every closed case an analysis with factor lines (one to four, graded 0-2) and one
closed case in three a recommendation with progress updates; a meeting held last week
holds eight cases waiting for their analysis. Then, each beside its floor -- the
statements the work ran (captured), replayed on a raw DBAPI cursor with nothing done to
the rows -- interleaved (A B A B ...), medians of --pairs pairs, and the ratio:

- the recommendations page (overdue first, 20 a page, with their updates) and the
  analyses page, as read models and as whole pages over HTTP;
- `export_ncmd` for one year: the four SELECTs, the gate over every cell and file, and
  the owner-only files written.

    .venv/bin/python benchmarks/analysis_pages.py [--cases 10000] [--postgres] [--pairs 11]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "include"), str(ROOT), str(ROOT / "benchmarks")]

from _compare import HEADER, NOT_REPLAYED, captured_statements, interleaved, replayed  # noqa: E402
from _http import served  # noqa: E402
from _signin import coordinator_app  # noqa: E402
from ops_pages import TODAY, load  # noqa: E402

DOMAINS = ("child", "social", "physical", "service")


def add_analyses(settings, seed: int = 15) -> dict[str, int]:
    from sqlalchemy import insert, select, update

    from cdop.rules.modifiable import case_modifiable
    from cdop.store.db import make_engine
    from cdop.store.models import (
        Analysis,
        AnalysisFactor,
        Case,
        MeetingAllocation,
        PanelMeeting,
        Recommendation,
        RecommendationUpdate,
    )
    from cdop.taxonomy import factor_codes

    rng = random.Random(seed)
    codes = factor_codes().by_domain
    engine = make_engine(settings)
    note = "Factor recorded by the panel (benchmark)."  # the column type encrypts it
    with engine.begin() as conn:
        # ops_pages.py names every child "Demo Child": words of the export's own labels
        # ("Factors intrinsic to the child", "Demo Hospitals NHS Trust"), which the gate
        # would rightly stop. Fictional names that are not.
        conn.execute(update(Case).values(forenames="Marigold Clementine", surname="Ravensworth-Quennell"))
        closed = conn.execute(select(Case.id, Case.closed_on).where(Case.closed_on.is_not(None))
                              .order_by(Case.id)).all()
        analyses, plans = [], []
        for case_id, closed_on in closed:
            reviewed = min(closed_on, TODAY - dt.timedelta(days=1))
            grades = [(rng.choice(DOMAINS), rng.choice((0, 1, 1, 2))) for _ in range(rng.randint(1, 4))]
            plans.append(grades)
            analyses.append({"case_id": case_id, "reviewed_on": reviewed, "finalised_on": reviewed,
                             "category": "infection", "modifiable": case_modifiable([g for _, g in grades]),
                             "recorded_by": "bench"})
        conn.execute(insert(Analysis), analyses)
        ids = list(conn.execute(select(Analysis.id, Analysis.case_id, Analysis.reviewed_on)
                                .order_by(Analysis.id)).all())
        factors = [{"analysis_id": aid, "domain": d, "factor_code": rng.choice(sorted(codes[d])), "grade": g,
                    "notes": note}
                   for (aid, _, _), grades in zip(ids, plans, strict=True) for d, g in grades]
        for chunk in range(0, len(factors), 5000):
            conn.execute(insert(AnalysisFactor), factors[chunk:chunk + 5000])
        text = "Audit the paediatric early warning score in the emergency department."
        recs = [{"case_id": cid, "analysis_id": aid, "organisation": "Demo Hospitals NHS Trust",
                 "email": "actions@example.nhs.net", "text": text, "agreed_on": day,
                 "due_on": day + dt.timedelta(days=rng.choice((90, 180, 365))),
                 "status": rng.choice(("agreed", "in_progress", "completed", "completed", "not_accepted")),
                 "follow_ups_sent": 0}
                for aid, cid, day in ids if rng.random() < 1 / 3]
        conn.execute(insert(Recommendation), recs)
        progress = "Update from the organisation."
        updates = [{"recommendation_id": rid, "recorded_on": due, "status": "in_progress", "progress": progress}
                   for rid, due in conn.execute(select(Recommendation.id, Recommendation.agreed_on)).all()
                   for _ in range(rng.randint(0, 3))]
        conn.execute(insert(RecommendationUpdate), updates)
        # A meeting held last week, with eight cases waiting for their analysis.
        meeting = conn.execute(insert(PanelMeeting).values(meets_on=TODAY - dt.timedelta(days=7), kind="general",
                                                           capacity=8).returning(PanelMeeting.id)).scalar()
        waiting = conn.execute(select(Case.id).where(Case.closed_on.is_(None),
                                                     ~Case.id.in_(select(MeetingAllocation.case_id)))
                               .limit(8)).scalars().all()
        conn.execute(insert(MeetingAllocation), [{"meeting_id": meeting, "case_id": c, "allocated_on": TODAY,
                                                  "pack": "pack"} for c in waiting])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    return {"analyses": len(analyses), "factor lines": len(factors), "recommendations": len(recs),
            "updates": len(updates)}


def run(args, url: str, workdir: Path) -> None:

    from cdop.config import settings_from_env
    from cdop.panel.analysis import awaiting_analysis, recommendations_page
    from cdop.panel.ncmd_export import export_ncmd
    from cdop.store.db import make_engine

    settings = settings_from_env()
    print(f"loaded {load(settings, args.cases)} and {add_analyses(settings)} into {url.split('://')[0]}")

    app = coordinator_app(TODAY)
    engine = make_engine(settings)
    raw = engine.raw_connection()

    def captured(work) -> list[tuple[str, object]]:
        # The export's audit row is not replayed: the floor reads, as the pages do.
        return captured_statements(engine, work, skip=(*NOT_REPLAYED, "INSERT"))[1]

    def replay(statements):
        return replayed(raw, statements)

    year = TODAY.year if TODAY.month > 3 else TODAY.year - 1
    out = workdir / "ncmd"
    work = {
        "recommendations page": (lambda: recommendations_page(settings, TODAY, per_page=20), "/recommendations"),
        "analyses page": (lambda: awaiting_analysis(settings, TODAY), "/analyses"),
    }
    print(f"\nbeside the floor (the work's SQL alone, replayed on a raw cursor); {engine.dialect.name}")
    print(HEADER)
    with served(app) as client:
        for label, (read_model, path) in work.items():
            statements = captured(read_model)
            floor = replay(statements)
            print(interleaved(f"{label}: read model", read_model, floor, pairs=args.pairs,
                              note=f"[{len(statements)} statements]").line(), flush=True)

            def page(path=path):
                assert client.get(path).status_code == 200

            print(interleaved(f"{label}: whole page over HTTP", page, floor, pairs=args.pairs).line(), flush=True)

        def export():
            return export_ncmd(settings, year, today=TODAY, to=out)

        statements = captured(export)
        result = export()
        print(interleaved(f"ncmd export {year} ({result.counts['analysis.csv']} analyses)", export, replay(statements),
                          pairs=max(3, args.pairs // 3), note=f"[{len(statements)} statements]").line(), flush=True)
    raw.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--pairs", type=int, default=11)
    parser.add_argument("--postgres", action="store_true", help="use a throwaway PostgreSQL database")
    args = parser.parse_args()

    from cryptography.fernet import Fernet

    from tests.support.scratch import scratch_postgres

    workdir = Path(tempfile.mkdtemp(prefix="cdop-bench-analysis-"))
    database = (scratch_postgres("cdop_bench_analysis") if args.postgres
                else nullcontext(f"sqlite:///{workdir / 'cdop.sqlite'}"))
    with database as url:
        os.environ.update({"CDOP_DATABASE_URL": url, "CDOP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                           "CDOP_HOME": str(workdir), "CDOP_SMTP_PORT": "8025",
                           "CDOP_POLICY_FILE": str(ROOT / "tests/support/office_policy.toml")})
        run(args, url, workdir)


if __name__ == "__main__":
    main()
