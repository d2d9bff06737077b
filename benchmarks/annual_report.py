"""Benchmark: the annual report over a synthetic national-scale history.

35,000 reviewed cases across 10 years (about 3,500 a year, England's scale), with a
realistic mix: about two thirds under one year, categories of death by age, modifiable
factors, recommendations with progress, family identifiers. They are bulk-inserted into
a throwaway SQLite database (or PostgreSQL with --postgres); encrypted identifier
columns hold tokens precomputed once from a small pool. Then a *child process* builds
one year's report, charts, PDF, CSVs and the anonymisation gate over every output
included, and prints its time and peak memory: that process's own high-water mark
(VmHWM; its ru_maxrss would start from the parent's, which Linux carries across exec).

Before that, the data extraction (annual_report.data.extract) beside its floor: the
extraction's SQL alone, the very statements it ran (captured), replayed on a raw DBAPI
cursor; the two sides interleaved (A B A B ...), medians of --pairs pairs, the ratio.

    python benchmarks/annual_report.py [--cases 35000] [--year 2025] [--postgres] [--pairs 11]

Then, in the same child, the whole build (both editions: public and confidential) beside
its floor, the two PDFs rendered alone from the finished document, interleaved.

Targets (issues 5, 14 and 15): both editions built under 10 s; extraction within 2x its
floor; peak memory under 300 MiB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "include"), str(ROOT)]

from _compare import HEADER, captured_statements, interleaved, replayed  # noqa: E402

from tests.support.scratch import scratch_postgres  # noqa: E402

AGE_MIX = [((0, 27), 0.42), ((28, 364), 0.23), ((365, 1825), 0.10), ((1827, 3650), 0.06),
           ((3653, 5475), 0.07), ((5478, 6560), 0.12)]
CATEGORY_BY_AGE = {
    0: {"perinatal": 55, "congenital": 30, "infection": 6, "acute_medical": 5, "sudden_unexplained": 2, "trauma": 2},
    1: {"congenital": 25, "sudden_unexplained": 20, "infection": 15, "acute_medical": 14,
        "chronic_medical": 10, "perinatal": 10, "trauma": 4, "abuse_neglect": 2},
    2: {"malignancy": 20, "chronic_medical": 20, "congenital": 14, "acute_medical": 15, "infection": 9,
        "trauma": 16, "abuse_neglect": 3, "sudden_unexplained": 3},
    3: {"suicide": 20, "trauma": 25, "malignancy": 15, "chronic_medical": 14, "acute_medical": 10,
        "congenital": 5, "infection": 6, "abuse_neglect": 5},
}
ETHNICITY = ["white_british"] * 12 + ["white_other", "asian_pakistani", "asian_indian", "asian_bangladeshi",
             "black_african", "black_caribbean", "mixed_white_asian", "mixed_other", "other_arab",
             "not_stated"]
PLACES = ["hospital"] * 7 + ["home", "home", "hospice", "public_place", "other"]
LEARNING = [f"Learning point {i}: safety-netting advice and information sharing between services."
            for i in range(40)]


def settings_for(home: Path, url: str, key: str):
    from cdop.config import settings_from_env

    return settings_from_env({"CDOP_HOME": str(home), "CDOP_DATABASE_URL": url,
                              "CDOP_ENCRYPTION_KEYS": key, "CDOP_POLICY_FILE": str(ROOT / "tests/support/office_policy.toml")})


def load(settings, n_cases: int, first_year: int, seed: int = 11) -> float:
    """Bulk-insert the synthetic history; return seconds taken."""
    from sqlalchemy import text

    from cdop import crypto
    from cdop.rules.ages import age_band
    from cdop.store.db import make_engine, migrate

    start = time.perf_counter()
    migrate(settings)
    engine = make_engine(settings)
    rng = random.Random(seed)
    names = [crypto.encrypt(n) for n in ("Zorbulax", "Quenthiva", "Marvostel", "Tindraque", "Plovenix")]
    dobs = [crypto.encrypt(f"20{y:02d}-0{m}-1{d}") for y in range(8, 26) for m in (1, 5, 9) for d in (1, 7)]
    nhs = [crypto.encrypt(f"99900000{i:02d}") for i in range(20)]
    address = crypto.encrypt("1 Synthetic Street, Benchtown")
    postcode = crypto.encrypt("BT1 1AA")
    family = crypto.encrypt("{}")
    learning = [crypto.encrypt(t) for t in LEARNING]
    rec_text, progress = crypto.encrypt("Synthetic recommendation."), crypto.encrypt("Update.")
    parent = [crypto.encrypt(f"Parent {n}") for n in ("Yxandor", "Wembrick", "Ulvathorne", "Skarrowen")]
    first_day = dt.date(first_year - 1, 4, 1)
    span = (dt.date(first_year + 9, 3, 31) - first_day).days

    cases, analyses, recs, updates, idents = [], [], [], [], []
    for i in range(1, n_cases + 1):
        died = first_day + dt.timedelta(days=rng.randrange(span))
        (low, high), = rng.choices([b for b, _ in AGE_MIX], weights=[w for _, w in AGE_MIX])
        age = rng.randint(low, high)
        group = 0 if age <= 27 else 1 if age < 365 else 2 if age < 3650 else 3
        mix = CATEGORY_BY_AGE[group]
        category = rng.choices(list(mix), weights=list(mix.values()))[0]
        reviewed = died + dt.timedelta(days=rng.choice([rng.randint(60, 182), rng.randint(183, 365),
                                                        rng.randint(183, 365), rng.randint(366, 700)]))
        roll = rng.random()
        modifiable = "yes" if roll < 0.3 else ("insufficient" if roll > 0.95 else "no")
        cases.append({
            "id": i, "case_number": f"BM-{died.year}-{i:06d}", "forenames": rng.choice(names),
            "surname": rng.choice(names), "date_of_birth": rng.choice(dobs), "nhs_number": rng.choice(nhs),
            "address": address, "postcode": postcode, "notifier_name": None, "nhs_index": None,
            "identity_index": f"bm{i}", "date_of_death": crypto.encrypt(died.isoformat()),
            "age_at_death_days": crypto.encrypt(str(age)),
            "age_band": age_band(died - dt.timedelta(days=age), died),
            "sex": rng.choice(["male", "male", "female", "female", "not_known"]),
            "ethnicity": rng.choice(ETHNICITY), "deprivation_decile": rng.choice([None, *range(1, 11)]),
            "place_of_death": rng.choice(PLACES), "death_expected": rng.random() < 0.45,
            "circumstances": json.dumps(["sudden_unexpected"] if category == "sudden_unexplained" else
                                        ["suicide_self_harm"] if category == "suicide" else []),
            "notified_on": died + dt.timedelta(days=rng.randint(0, 2)), "closed_on": reviewed,
            "family_context": family, "created_at": dt.datetime(2026, 1, 1),
        })
        analyses.append({"id": i, "case_id": i, "reviewed_on": reviewed, "category": category,
                         "modifiable": modifiable, "recorded_by": "benchmark",
                         "finalised_on": reviewed,
                         "learning": rng.choice(learning) if modifiable == "yes" else None})
        if rng.random() < 0.3:
            idents.append({"case_id": i, "field": "parent_name", "value": rng.choice(parent)})
        if modifiable == "yes" and rng.random() < 0.35:
            rid = len(recs) + 1
            recs.append({"id": rid, "case_id": i, "analysis_id": i, "organisation": "Benchmark ICB",
                         "email": "icb@example.nhs.net", "text": rec_text,
                         "agreed_on": reviewed, "due_on": reviewed + dt.timedelta(days=180),
                         "status": "agreed", "follow_ups_sent": 0})
            updates.append({"recommendation_id": rid, "recorded_on": reviewed + dt.timedelta(days=90),
                            "status": rng.choice(["in_progress", "completed"]), "progress": progress})

    def insert(conn, table: str, rows: list[dict]) -> None:
        if rows:
            cols = list(rows[0])
            conn.execute(text(f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                              f"({', '.join(':' + c for c in cols)})"), rows)

    with engine.begin() as conn:
        insert(conn, "cases", cases)
        insert(conn, "analyses", analyses)
        insert(conn, "case_identifiers", idents)
        insert(conn, "recommendations", recs)
        insert(conn, "recommendation_updates", updates)
    if settings.database_url.startswith("postgresql"):
        with engine.begin() as conn:
            for table in ("cases", "analyses", "recommendations"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
            conn.execute(text("ANALYZE"))
    return time.perf_counter() - start


def vm_hwm_kib() -> int:
    """This process's own peak resident memory (reset by exec, unlike ru_maxrss)."""
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))


def extraction_beside_floor(settings, year: int, pairs: int):
    """annual_report.data.extract against its SQL alone, replayed on a raw cursor."""

    from cdop.annual_report.data import extract
    from cdop.store.db import make_engine, unit_of_work

    def extraction():
        with unit_of_work(settings) as uow:
            return extract(uow.session, year)

    engine = make_engine(settings)
    data, seen = captured_statements(engine, extraction)
    raw = engine.raw_connection()
    floor = replayed(raw, seen)

    try:
        result = interleaved(f"annual report data extraction, {len(data.reviews):,} reviews in the year",
                             extraction, floor, pairs=pairs, note=f"[{len(seen)} statements]")
    finally:
        raw.close()
    return result


def build_child(home: str, url: str, key: str, year: int, pairs: int) -> None:
    """Runs in the child process: build the report, print a JSON line of figures."""
    start = time.perf_counter()
    from cdop.annual_report import build_annual_report

    imported = time.perf_counter()
    settings = settings_for(Path(home), url, key)
    today = dt.date(year, 6, 1)
    built = time.perf_counter()
    result = build_annual_report(settings, year, today=today, actor="benchmark")
    done = time.perf_counter()
    pdf = result.directory / f"annual-report-{year}.pdf"
    peak = vm_hwm_kib()

    # The build beside its floor: the least work that gives the same PDFs, the rendering
    # of the two editions' documents (the public HTML, rendered twice: the confidential
    # edition has the same pages with other numbers). Rebuilds are of unchanged content.
    from cdop.pdf import html_to_pdf

    html = (result.directory / f"annual-report-{year}.html").read_text(encoding="utf-8")
    pair = interleaved(
        f"annual report build, both editions ({year - 1}/{year % 100:02d})",
        lambda: build_annual_report(settings, year, today=today, actor="benchmark"),
        lambda: (html_to_pdf(html), html_to_pdf(html)), pairs=pairs,
        note="[floor: the two PDFs rendered alone]")
    print(json.dumps({
        "pair": pair.line(),
        "build_seconds": round(done - built, 2),
        "imports_seconds": round(imported - start, 2),
        "steps": result.timings,
        "peak_rss_mib": round(peak / 1024, 1),
        "ru_maxrss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "pdf_kib": round(pdf.stat().st_size / 1024),
        "files": len(result.files),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=35_000)
    parser.add_argument("--year", type=int, default=2025, help="report year to build (of 2017..2026)")
    parser.add_argument("--postgres", action="store_true", help="use a throwaway PostgreSQL database")
    parser.add_argument("--pairs", type=int, default=11, help="interleaved pairs beside the floor")
    parser.add_argument("--build-pairs", type=int, default=3,
                        help="interleaved pairs of the whole build beside its floor")
    parser.add_argument("--child", nargs=4, metavar=("HOME", "URL", "YEAR", "PAIRS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        # The key comes by the environment: a Fernet key may begin with "-".
        home, url, year, pairs = args.child
        build_child(home, url, os.environ["CDOP_BENCH_KEY"], int(year), int(pairs))
        return

    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    with tempfile.TemporaryDirectory(prefix="cdop-bench-") as tmp:
        home = Path(tmp)
        database = (scratch_postgres("cdop_bench") if args.postgres
                    else nullcontext(f"sqlite:///{home / 'bench.sqlite'}"))
        with database as url:
            settings = settings_for(home, url, key)
            seconds = load(settings, args.cases, first_year=2017)
            print(f"loaded {args.cases:,} reviewed cases over 10 years into "
                  f"{'PostgreSQL' if args.postgres else 'SQLite'} in {seconds:.1f} s")
            print(HEADER)
            print(extraction_beside_floor(settings, args.year, args.pairs).line(), flush=True)
            child = subprocess.run(
                [sys.executable, __file__, "--child", str(home), url, str(args.year),
                 str(args.build_pairs)],
                capture_output=True, text=True, check=False,
                env={**os.environ, "CDOP_BENCH_KEY": key},
            )
            if child.returncode != 0:
                print(child.stderr[-3000:])
                raise SystemExit("the build failed")
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            print(f"report year {args.year - 1}/{args.year % 100:02d}: both editions built in {figures['build_seconds']} s "
                  f"(target < 10 s; imports {figures['imports_seconds']} s before that), "
                  f"peak memory {figures['peak_rss_mib']} MiB, the child's own VmHWM (target < 300 MiB)")
            print(f"  steps (s): {figures['steps']}")
            print(HEADER)
            print(figures["pair"])
            print(f"  outputs: {figures['files']} files, PDF {figures['pdf_kib']} KiB")
            ok = figures["build_seconds"] < 10 and figures["peak_rss_mib"] < 300
            print("PASS" if ok else "OVER TARGET")


if __name__ == "__main__":
    main()
