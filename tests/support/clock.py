"""Moving the clock for a test whose fictional history runs ahead of the real date.

Production code reads the wall clock in one place (cdop.clock.today_in_england) and
refuses a business date after it. A test set in the future moves that clock with
time-machine, in its own process: `cli_on` runs the `cdop` command in-process (click's
runner) on a fictional day, so the future-date guard stays on and judges against it. A
command run as a subprocess cannot travel: give it dates before the real today.
"""

from __future__ import annotations

import datetime as dt
import subprocess

import time_machine
from click.testing import CliRunner

from cdop.clock import ENGLAND


def midday(day: dt.date) -> dt.datetime:
    """Noon in England on `day`: the moment a test travels to."""
    return dt.datetime.combine(day, dt.time(12), tzinfo=ENGLAND)


def cli_on(day: dt.date, *args: str) -> subprocess.CompletedProcess:
    """The `cdop` command as on `day` in England (in-process), with the answer shaped as
    tests.conftest.cli's: returncode, stdout, stderr."""
    from cdop.cli.main import main

    with time_machine.travel(midday(day)):
        result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(["cdop", *args], result.exit_code, result.stdout, result.stderr)
