"""Benchmark: the gate's recorded layers (recorded identifiers and the forms derived from
them) beside their floor, and `cdop gate check` beside an empty interpreter.

1. The recorded scan (`Gate.recorded_findings`: fold the text, one Aho-Corasick pass,
   the rules of each identifier it names, the patterned derived forms) beside its floor:
   a plain multi-pattern scan of the same forms (every recorded and derived form, folded,
   in one pyahocorasick automaton) over the same text lower-cased. Both sides
   interleaved (A B A B ...), medians, the ratio; at several text sizes.
2. The word lists' load: built from the packages (the first process on a machine) beside
   read from the cache (every later one), each in a fresh interpreter.
3. `cdop gate check` on one case, a whole process (start-up, settings, the case read
   from the database, the gate) beside `python -c pass`, interleaved, median wall time
   and CPU time (user + system; on a shared, loaded machine the CPU time is the steadier
   figure). A throwaway CDOP home with the demo data is made for it unless --home is
   given (with CDOP_DEMO=1 and a case number, --case).

    PYTHONPATH=include python benchmarks/gate_speed.py [--pairs 9] [--runs 7] [--home DIR --case N]

The target (issue 20): `cdop gate check` under 300 ms a call, start-up included.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _compare import HEADER, fmt, interleaved  # noqa: E402

from cdop.confidentiality.gate import Gate  # noqa: E402
from cdop.confidentiality.identifiers import case_identifiers  # noqa: E402
from cdop.confidentiality.recorded_index import index_for  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

CASE = SimpleNamespace(forenames="Zofia Grace", surname="Wiśniewski-O’Neill", date_of_birth="2019-05-14",
                       date_of_death=dt.date(2024, 3, 3), nhs_number="9434765919", postcode="CF10 1AA",
                       address="Flat 3, Hollis House, 12 Stapleton Road, Bristol", notifier_name=None)
FAMILY = [("parent_name", "Hope Ó Briain"), ("parent_name", "William May"), ("sibling_name", "Gwenllian Thi"),
          ("relative_name", "Dafydd Quennell"), ("carer_name", "Maggie Ward"),
          ("school", "St Anne's Primary School"), ("parent_date_of_birth", "1990-02-11")]

# Agency prose: mostly clean, with a recorded or derived form now and then.
SENTENCES = [
    "The health visitor saw the family at home and noted no concerns about feeding.",
    "Paediatric registrar reviewed the child in the emergency department at 02:10.",
    "Mum and Dad were present; the GP practice had seen the child twice that month.",
    "Police attended with the ambulance service; the coroner was informed the same day.",
    "School reported good attendance; the class teacher described a settled pupil.",
    "Zofia was seen by the school nurse; Billy collected her from St Anne's.",
    "The Quennells' neighbour on Stapleton said Z.W. had been unwell since 3 Mawrth 2024.",
    "Social care closed the referral after a single assessment; no further action.",
    "Baby slept in a Moses basket; the safe sleep leaflet was given at discharge.",
    "Transferred to Ward 7 and reviewed by the consultant in the morning.",
]


def text_of(size: int) -> str:
    out, n = [], 0
    while n < size:
        s = SENTENCES[len(out) % len(SENTENCES)]
        out.append(s)
        n += len(s) + 1
    return " ".join(out)


def floor_automaton(gate: Gate):
    """Every folded recorded and derived form of the gate's identifiers in one automaton."""
    import ahocorasick

    from cdop.confidentiality.derived import derived_date_forms
    from cdop.confidentiality.folding import _fold, date_forms

    index = index_for(gate.identifiers)
    automaton = ahocorasick.Automaton()
    for ident in index.identifiers:
        value = ident.value.strip()
        if ident.kind == "date":
            day = dt.date.fromisoformat(value)
            forms = derived_date_forms(day, ident.how) if ident.how else date_forms(day)
        else:
            forms = {_fold(value).strip()}
        for form in forms:
            automaton.add_word(form, ident.field)
    automaton.make_automaton()
    return automaton


def scans(pairs: int) -> None:
    gate = Gate(case_identifiers(CASE, FAMILY))
    automaton = floor_automaton(gate)
    print("1. The recorded scan beside a plain multi-pattern scan of the same forms")
    print(HEADER)
    for size in (2_000, 50_000, 500_000):
        text = text_of(size)
        found = gate.recorded_findings(text)
        pair = interleaved(f"recorded + derived layers, {size // 1000} kB ({len(found)} findings)",
                           lambda text=text: gate.recorded_findings(text),
                           lambda text=text: list(automaton.iter(text.lower())), pairs=pairs)
        print(pair.line())


def _cpu_of_child(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, capture_output=True, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def word_lists(runs: int) -> None:
    print("\n2. The word lists: built from the packages beside read from the cache (fresh interpreters)")
    code = ("from cdop.confidentiality import words as w; "
            "w.given_names(); w.english_words(); w.spelling_words(); __import__('cdop.confidentiality.derived')"
            ".confidentiality.derived._nickname_table()")
    cache = tempfile.mkdtemp(prefix="cdop-gate-cache-")
    env = dict(os.environ, CDOP_CACHE_DIR=cache, PYTHONPATH=f"{ROOT / 'include'}:{ROOT}")
    built, read = [], []
    for _ in range(runs):
        shutil.rmtree(cache, ignore_errors=True)
        built.append(_cpu_of_child([sys.executable, "-c", code], env))
        read.append(_cpu_of_child([sys.executable, "-c", code], env))
    shutil.rmtree(cache, ignore_errors=True)
    for name, runs_ in (("built (no cache)", built), ("read from the cache", read)):
        print(f"  {name:<24} wall {fmt(statistics.median(r[0] for r in runs_)):>9}   "
              f"cpu {fmt(statistics.median(r[1] for r in runs_)):>9}")


def _demo_home() -> tuple[str, str]:
    home = tempfile.mkdtemp(prefix="cdop-gate-speed-")
    env = dict(os.environ, CDOP_HOME=home, CDOP_DEMO="1", PYTHONPATH=f"{ROOT / 'include'}:{ROOT}")
    env.pop("CDOP_DATABASE_URL", None)
    cdop = str(Path(sys.executable).with_name("cdop"))
    subprocess.run([cdop, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([cdop, "demo", "load", "--today", "2026-12-01"], env=env, check=True, capture_output=True)
    listed = subprocess.run([cdop, "case", "list"], env=env, check=True, capture_output=True, text=True).stdout
    return home, listed.split()[0]


def cli(runs: int, home: str | None, case: str | None) -> None:
    print("\n3. `cdop gate check` (a whole process) beside `python -c pass`")
    made = None
    if home is None:
        home, case = _demo_home()
        made = home
    text = Path(home) / "gate-speed.txt"
    text.write_text(" ".join(SENTENCES[:5]) + "\n", encoding="utf-8")
    env = dict(os.environ, CDOP_HOME=home, CDOP_DEMO="1", PYTHONPATH=f"{ROOT / 'include'}:{ROOT}")
    cdop = str(Path(sys.executable).with_name("cdop"))
    check = [cdop, "gate", "check", str(case), "--file", str(text)]
    subprocess.run(check, env=env, capture_output=True, check=False)  # the word lists' cache is built
    gate, empty = [], []
    for _ in range(runs):
        gate.append(_cpu_of_child(check, env))
        empty.append(_cpu_of_child([sys.executable, "-c", "pass"], env))
    for name, runs_ in (("cdop gate check", gate), ("python -c pass", empty)):
        print(f"  {name:<24} wall {fmt(statistics.median(r[0] for r in runs_)):>9}   "
              f"cpu {fmt(statistics.median(r[1] for r in runs_)):>9}   (median of {runs})")
    g, e = statistics.median(r[0] for r in gate), statistics.median(r[0] for r in empty)
    print(f"  ratio (wall) {g / e:.1f}x; target: under 300 ms a call")
    if made:
        shutil.rmtree(made, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=9)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--home", help="a CDOP home with data (default: a throwaway demo home)")
    parser.add_argument("--case", help="a case number in --home")
    args = parser.parse_args()
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        print(f"note: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: wall times are inflated")
    scans(args.pairs)
    word_lists(max(3, args.runs // 2))
    cli(args.runs, args.home, args.case)


if __name__ == "__main__":
    main()
