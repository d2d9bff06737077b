"""Benchmark: what a `cdop` call costs, start-up included, beside its floors.

1. Whole processes, each timed beside its floors in the same run, interleaved
   (now, floor, floor, now, ...), medians of wall and CPU time (user + system: on a
   shared, loaded machine the steadier figure), and the ratio of the medians:
   - floors: `python -c pass` (an interpreter), `python -c "import cdop"` (the
     package), and, for the commands that read the database, the libraries any of them
     must import (`import sqlalchemy.orm, pydantic`: what is left when the CLI imports
     nothing of its own);
   - `cdop --help`, `cdop gate check --help` (no area's service is imported);
   - `cdop case list` (a typical command: settings, the database, one page of cases);
   - `cdop gate check` on a text of three sizes with no candidate name (the model is not
     loaded) and with candidate names (the named-entity model runs: what it adds is the
     difference, printed), and that text checked again.
2. The gate step in one process (the annual report and every document check): the
   gate's stops (`Gate.scan`, what a build asks) and its findings with flags
   (`Gate.findings`, the model included) beside a plain pyahocorasick scan of the same
   text for every recorded and derived form, at three sizes; interleaved, medians.
3. What the model costs in a fresh process: importing spaCy, loading the pipeline
   (tok2vec and ner only), and its first text.

The word lists are read from the user's cache (`cdop.confidentiality.words.cache_dir()`;
made by the first call if missing), as every call after the first on a machine reads
them. A text with names is given as a new text at each call (the model runs) and as the
same text again (its entities are read back from the cache, as when `cdop gate decide`
follows `cdop gate check`).

    PYTHONPATH=include python benchmarks/cli_startup.py [--runs 7] [--pairs 7]

Targets (issues 20 and 25): `cdop --help` under 150 ms, a typical command under 400 ms,
`cdop gate check` under 300 ms a call (start-up included; the model's share said apart).
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "include"))
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _compare import HEADER, fmt, interleaved  # noqa: E402
from gate_speed import CASE, FAMILY, _demo_home, floor_automaton  # noqa: E402

from cdop.confidentiality.gate import Gate  # noqa: E402
from cdop.confidentiality.identifiers import case_identifiers  # noqa: E402

CLEAN = [
    "The health visitor saw the family at home and noted no concerns about feeding.",
    "Paediatric registrar reviewed the child in the emergency department at 02:10.",
    "Mum and Dad were present; the GP practice had seen the child twice that month.",
    "Police attended with the ambulance service; the coroner was informed the same day.",
    "School reported good attendance; the class teacher described a settled pupil.",
]
NAMED = CLEAN + [
    "Sarah Jenkins from the nursery said Tomasz had been well that week.",
    "The neighbour, Mr Okafor, called the ambulance and waited with Nguyen Thi Lan.",
]


def text_of(sentences: list[str], size: int) -> str:
    out, n = [], 0
    while n < size:
        s = sentences[len(out) % len(sentences)]
        out.append(s)
        n += len(s) + 1
    return " ".join(out) + "\n"


# ------------------------------------------------------------------ processes
def _child(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _timed(commands: dict[str, object], env: dict[str, str], runs: int) -> dict[str, tuple[float, float]]:
    """Each command (an argument list, or a function making one for each call) run `runs`
    times, the commands taking turns (one warm-up round first); the median wall and CPU
    time of each."""
    def argv(command):
        return command() if callable(command) else command

    for command in commands.values():
        _child(argv(command), env)
    seen: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            seen[name].append(_child(argv(command), env))
    return {name: (statistics.median(r[0] for r in rs), statistics.median(r[1] for r in rs))
            for name, rs in seen.items()}


def processes(runs: int) -> None:
    home, case = _demo_home()
    env = dict(os.environ, CDOP_HOME=home, CDOP_DEMO="1", PYTHONPATH=f"{ROOT / 'include'}{os.pathsep}{ROOT}")
    env.pop("CDOP_DATABASE_URL", None)
    py, cdop = sys.executable, str(Path(sys.executable).with_name("cdop"))
    floors = {"python -c pass": [py, "-c", "pass"],
              "python -c 'import cdop'": [py, "-c", "import cdop"],
              "import sqlalchemy.orm, pydantic": [py, "-c", "import sqlalchemy.orm, pydantic"]}
    sizes = (1_000, 10_000, 50_000)
    calls: dict[str, object] = {"cdop --help": [cdop, "--help"],
                                "cdop gate check --help": [cdop, "gate", "check", "--help"],
                                "cdop case list": [cdop, "case", "list"]}
    fresh = iter(range(10**6))

    def check(path: Path) -> list[str]:
        return [cdop, "gate", "check", case, "--file", str(path), "--document", "case_report"]

    def new_text(sentences: list[str], size: int):
        def make() -> list[str]:
            path = Path(home) / "new-text.txt"  # a text no call has seen: the model runs
            path.write_text(f"Day {next(fresh)}. " + text_of(sentences, size), encoding="utf-8")
            return check(path)
        return make

    for size in sizes:
        path = Path(home) / f"text-clean-{size}.txt"
        path.write_text(text_of(CLEAN, size), encoding="utf-8")
        calls[f"gate check {size // 1000} kB, no name"] = check(path)
        calls[f"gate check {size // 1000} kB, names, new text"] = new_text(NAMED, size)
        path = Path(home) / f"text-named-{size}.txt"
        path.write_text(text_of(NAMED, size), encoding="utf-8")
        calls[f"gate check {size // 1000} kB, names, same text"] = check(path)
    print("1. Whole processes (median wall / CPU), each beside its floors, interleaved")
    print(f"   {'call':<36} {'wall':>9} {'cpu':>9} | floor: {'pass':>8} {'import cdop':>12} "
          f"{'sqla+pydantic':>14} | ratio (cpu) to each")
    figures: dict[str, tuple[float, float]] = {}
    for name, command in calls.items():
        got = _timed({name: command, **floors}, env, runs)
        figures[name] = got[name]
        wall, cpu = got[name]
        f = [got[n][1] for n in floors]
        ratios = "  ".join(f"{cpu / x:5.1f}x" for x in f)
        print(f"   {name:<36} {fmt(wall):>9} {fmt(cpu):>9} | {fmt(f[0]):>14} {fmt(f[1]):>12} "
              f"{fmt(f[2]):>14} | {ratios}")
    for size in sizes:
        plain = figures[f"gate check {size // 1000} kB, no name"]
        named = figures[f"gate check {size // 1000} kB, names, new text"]
        again = figures[f"gate check {size // 1000} kB, names, same text"]
        print(f"   {size // 1000} kB: the model adds (new text minus no name) cpu {fmt(named[1] - plain[1])}, "
              f"wall {fmt(named[0] - plain[0])}; the same text again (its entities kept) cpu "
              f"{fmt(again[1] - plain[1])}")
    shutil.rmtree(home, ignore_errors=True)


# ------------------------------------------------------------------ in one process
def gate_step(pairs: int) -> None:
    gate = Gate(case_identifiers(CASE, FAMILY))
    automaton = floor_automaton(gate)
    print("\n2. The gate step in one process beside a plain pyahocorasick scan of the same text")
    print(HEADER)
    for size in (2_000, 20_000, 200_000):
        text = text_of(NAMED, size)
        gate.findings(text)  # the model and lists loaded before timing (once per process)
        floor = lambda text=text: list(automaton.iter(text.lower()))  # noqa: E731
        print(interleaved(f"Gate.scan (stops), {size // 1000} kB", lambda text=text: gate.scan(text),
                          floor, pairs=pairs).line())
        if size <= 20_000:  # the model's entities are kept per text: a new text each time
            texts = iter([f"{i} {text}" for i in range(pairs + 2)])
            print(interleaved(f"Gate.findings (with flags, model), {size // 1000} kB",
                              lambda texts=texts: gate.findings(next(texts)), floor, pairs=pairs).line())


def model(runs: int) -> None:
    code = ("import time; t = time.perf_counter(); import spacy; a = time.perf_counter(); "
            "from cdop.confidentiality.layers import model as m; m.nlp(); b = time.perf_counter(); "
            f"m.nlp()({NAMED[5]!r}); c = time.perf_counter(); "
            "print(a - t, b - a, c - b)")
    env = dict(os.environ, PYTHONPATH=f"{ROOT / 'include'}{os.pathsep}{ROOT}")
    seen = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        seen.append([float(x) for x in out.stdout.split()])
    imp, load, first = (statistics.median(r[i] for r in seen) for i in range(3))
    print(f"\n3. The model in a fresh process (median of {runs}): import spaCy {fmt(imp)}, "
          f"load the pipeline (tok2vec, ner) {fmt(load)}, its first text {fmt(first)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="processes of each kind")
    parser.add_argument("--pairs", type=int, default=7, help="in-process pairs")
    args = parser.parse_args()
    compileall.compile_dir(str(ROOT / "include"), quiet=1)  # as an installed package has them
    if os.getloadavg()[0] > (os.cpu_count() or 1):
        print(f"note: load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: "
              "wall times are inflated; read the CPU times")
    processes(args.runs)
    gate_step(args.pairs)
    model(max(3, args.runs // 2))


if __name__ == "__main__":
    main()
