"""What the benchmarks share: a figure beside its floor, measured in the same run with
the two sides interleaved (A B A B ...), medians of the pairs and the ratio; and the
peak memory of a piece of work run in a fresh child process, read from the child's own
high-water mark (VmHWM in /proc/self/status inside the child, nothing inherited)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Pair:
    name: str
    now_s: float
    floor_s: float
    pairs: int
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.now_s / self.floor_s if self.floor_s else float("inf")

    def line(self) -> str:
        return (f"{self.name:<58} {fmt(self.now_s):>10} {fmt(self.floor_s):>10} "
                f"{self.ratio:>6.2f}x  (median of {self.pairs} pairs){'  ' + self.note if self.note else ''}")


HEADER = f"{'path':<58} {'now':>10} {'floor':>10} {'ratio':>7}"


def fmt(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def interleaved(name: str, now: Callable[[], object], floor: Callable[[], object], *, pairs: int = 7,
                reset: Callable[[], object] | None = None, warmup: bool = True, note: str = "") -> Pair:
    """Time `now` and `floor` alternately (`reset` before each side, untimed); medians."""
    if warmup:
        for side in (now, floor):
            if reset:
                reset()
            side()
    a, b = [], []
    for _ in range(pairs):
        for side, into in ((now, a), (floor, b)):
            if reset:
                reset()
            started = time.perf_counter()
            side()
            into.append(time.perf_counter() - started)
    return Pair(name, statistics.median(a), statistics.median(b), pairs, note)


CHILD_PRELUDE = """
import json, resource, sys, time
sys.path[:0] = {paths!r}
"""
CHILD_EPILOGUE = """
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open("/proc/self/status") as fh:
    hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
print("CHILD_RESULT " + json.dumps({"peak_kib": peak_kib, "vmhwm_kib": hwm, "result": RESULT}), flush=True)
"""


NOT_REPLAYED = ("BEGIN", "SAVEPOINT", "RELEASE")  # transaction control, not the work's SQL


def captured_statements(engine, work: Callable[[], object],
                        skip: tuple[str, ...] = NOT_REPLAYED) -> tuple[object, list[tuple[str, object]]]:
    """Run `work`; what it returned, and the statements (with their parameters) it sent
    to `engine`, except those starting with one of `skip`."""
    from sqlalchemy import event

    seen: list[tuple[str, object]] = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(skip):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listen)
    try:
        result = work()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return result, seen


def replayed(raw, statements: list[tuple[str, object]]) -> Callable[[], None]:
    """The floor of a piece of work: its own statements run on the raw DBAPI connection
    `raw`, every row fetched and nothing done with it, then rolled back."""
    def floor() -> None:
        cur = raw.cursor()
        for statement, parameters in statements:
            cur.execute(statement, parameters)
            cur.fetchall()
        cur.close()
        raw.rollback()
    return floor


def in_fresh_child(code: str, env: dict[str, str] | None = None) -> dict:
    """Run `code` (which sets RESULT) in a new interpreter; its result and its own peak
    memory in MiB: VmHWM, read inside the child. (Its ru_maxrss is printed beside it but
    not used: Linux carries the high-water mark of the process image an exec replaces
    into it, so a child spawned by a large parent starts with the parent's peak.)"""
    script = (CHILD_PRELUDE.format(paths=[str(ROOT / "include"), str(ROOT)]) + code + CHILD_EPILOGUE)
    done = subprocess.run([sys.executable, "-c", script], env=dict(os.environ, **(env or {})),
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("CHILD_RESULT "))
    out = json.loads(line.removeprefix("CHILD_RESULT "))
    out["peak_mib"] = out["vmhwm_kib"] / 1024
    out["ru_maxrss_mib"] = out["peak_kib"] / 1024
    return out
