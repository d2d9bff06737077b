"""Feed a large seeded set of generated inputs through the `cdop` commands that take input
from outside, and print what issue 11 asks: inputs tried, refused with the field named,
tracebacks (goal 0), values echoed (goal 0), rows changed by a refused input (goal 0).

    python benchmarks/fuzz_inputs.py [--count 1217] [--seed 11] [--postgres] [--show 5]

Runs in a throwaway CDOP home and database (SQLite, or a scratch PostgreSQL database),
in-process through click's test runner, with every table compared before and after each
refused input. The generators are tests/support/fuzz_inputs.py, shared with the fuzz test.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "include"), str(ROOT)]


def _environment(home: Path, url: str, smtp_port: int) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {"CDOP_HOME": str(home), "CDOP_DATABASE_URL": url, "CDOP_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "CDOP_POLICY_FILE": str(ROOT / "tests/support/office_policy.toml"),
            "CDOP_SMTP_HOST": "127.0.0.1", "CDOP_SMTP_PORT": str(smtp_port), "CDOP_ACTOR": "fuzz"}


def _prepare(settings) -> dict[str, str]:
    """The directory, a case with a recorded return, and a case the panel has seen."""
    import csv

    from cdop.intake.agencies import import_agencies
    from cdop.panel.case_reports import assemble_reports, decide
    from cdop.panel.meetings import add_meeting, allocate_cases
    from cdop.store.db import migrate
    from tests.integration.test_input_fuzz import _returned_case
    from tests.support.panel import ready_case

    migrate(settings)
    with (ROOT / "include/cdop/data/demo_agencies.csv").open(newline="") as fh:
        import_agencies(settings, list(csv.DictReader(fh)))
    D = dt.date
    panel_case, _ = ready_case(settings, notified=D(2026, 11, 2), agencies=("RUH", "GPHC"))
    assemble_reports(settings, D(2027, 1, 11))
    decide(settings, panel_case, approve=True, comments=None, actor="coordinator", today=D(2027, 1, 12))
    add_meeting(settings, meets_on=D(2027, 3, 4), today=D(2027, 1, 4))
    allocate_cases(settings, D(2027, 1, 12))
    returned = _returned_case(settings)
    return {"return_content": returned, "family": returned, "analysis": panel_case}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1217)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--show", type=int, default=3, help="print this many failing inputs of each kind")
    args = parser.parse_args()

    from cdop.dev import smtp_sink
    from tests.support.fuzz_inputs import TARGETS, Runner, make_input

    workdir = Path(tempfile.mkdtemp(prefix="cdop-fuzz-"))
    with contextlib.ExitStack() as stack:
        if args.postgres:
            from tests.support.scratch import scratch_postgres

            url = stack.enter_context(scratch_postgres("cdop_fuzz"))
        else:
            url = f"sqlite:///{workdir / 'cdop.sqlite'}"
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        controller = smtp_sink.start(workdir / "mail", port=port)
        stack.callback(controller.stop)
        env = _environment(workdir / "home", url, port)
        os.environ.update(env)
        from cdop.config import get_settings, settings_from_env

        get_settings.cache_clear()
        settings = settings_from_env(env)
        cases = _prepare(settings)

        rng = random.Random(args.seed)
        runner = Runner(settings, workdir)
        totals = collections.Counter()
        by_target = collections.defaultdict(collections.Counter)
        categories = collections.Counter()
        failures = collections.defaultdict(list)
        started = time.perf_counter()
        for n in range(1, args.count + 1):
            target = TARGETS[(n - 1) % len(TARGETS)]
            item = make_input(target, rng, n, cases.get(target, "CDOP-2026-0001"))
            outcome = runner.run(item)
            totals["tried"] += 1
            by_target[target]["tried"] += 1
            for category in item.category.split("+"):
                categories[category.split(":")[-1]] += 1
            if outcome.exit_code == 0:
                totals["accepted"] += 1
                by_target[target]["accepted"] += 1
            else:
                totals["refused"] += 1
                by_target[target]["refused"] += 1
                key = "refused, field named" if outcome.field_named else "refused, other reason"
                totals[key] += 1
                by_target[target][key] += 1
            for flag, name in ((outcome.traceback, "tracebacks"), (outcome.echoed, "values echoed"),
                               (outcome.rows_changed, "rows changed by a refused input")):
                if flag:
                    totals[name] += 1
                    failures[name].append((target, item.category, outcome.exit_code, outcome.output[:300]))
            if not outcome.field_named and outcome.exit_code not in (0,):
                failures["refused, other reason"].append((target, item.category, outcome.exit_code,
                                                          outcome.output[:200]))
        elapsed = time.perf_counter() - started

    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"generated inputs through the cdop commands ({backend}, seed {args.seed}, {elapsed:.1f} s)")
    print(f"  inputs tried                     {totals['tried']:6}")
    print(f"  accepted                         {totals['accepted']:6}")
    print(f"  refused                          {totals['refused']:6}")
    print(f"    with the field named           {totals['refused, field named']:6}")
    print(f"    for another reason             {totals['refused, other reason']:6}  (duplicate of an existing case,"
          " or the case is closed)")
    print(f"  tracebacks                       {totals['tracebacks']:6}  (goal 0; an exit other than 0 or 2 counts)")
    print(f"  values echoed                    {totals['values echoed']:6}  (goal 0)")
    print(f"  rows changed by a refused input  {totals['rows changed by a refused input']:6}  (goal 0)")
    print("by target:")
    for target in TARGETS:
        c = by_target[target]
        print(f"  {target:15} tried {c['tried']:4}  accepted {c['accepted']:4}  refused {c['refused']:4} "
              f"(field named {c['refused, field named']:4})")
    print("categories of bad value or file (an input may hold several):")
    print("  " + ", ".join(f"{k} {v}" for k, v in sorted(categories.items())))
    for name, rows in failures.items():
        for target, category, code, output in rows[:args.show]:
            print(f"{name}: {target} [{category}] exit {code}: {output!r}")
    bad = totals["tracebacks"] + totals["values echoed"] + totals["rows changed by a refused input"]
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
