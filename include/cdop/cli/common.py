"""What every `cdop` command shares: settings, the business date, the CDOP's error
handling (field and row named, never the value, no traceback) and file reading."""

from __future__ import annotations

import datetime as dt
import functools
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cdop.clock import today_in_england
from cdop.errors import ConfigError

if TYPE_CHECKING:
    from cdop.config import Settings

EXIT_INPUT = 2

existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


def current_settings() -> Settings:
    from cdop.config import get_settings  # pydantic: only for a command that runs (see cli.main)

    return get_settings()


def actor() -> str:
    return current_settings().actor


ROWS_NOTE = ("  (rows are counted from 1: the first record under a CSV's header row, "
             "or the first entry of a JSON list)")


def friendly_errors(fn):
    """Turn domain errors into a clear message and a non-zero exit, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 -- sorted below; imported only when needed
            _refuse(exc)

    return wrapper


def _refuse(exc: Exception) -> None:
    """Say what stopped a command and exit (or re-raise what click handles itself). The
    error types are imported here, on the way out, not when a command starts: a
    command that succeeds (`cdop gate check`) does not pay for importing the services."""
    from sqlalchemy.exc import DBAPIError

    from cdop.intake.notifications import DuplicateNotification
    from cdop.store.lookups import NotFound
    from cdop.validation import InputError

    if isinstance(exc, InputError):
        click.echo("error: nothing was written:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        if any(p.row is not None for p in exc.problems):
            click.echo(ROWS_NOTE, err=True)
        sys.exit(EXIT_INPUT)
    if isinstance(exc, (DuplicateNotification, NotFound, ConfigError)):
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    if isinstance(exc, DBAPIError):
        # SQLAlchemy's own text carries the statement's parameters, which may be
        # identifiers: say what kind of failure it was, never the values.
        text = str(exc.orig).lower()
        if "no such table" in text or "does not exist" in text:
            click.echo("error: the CDOP database is not set up: run `cdop db upgrade`", err=True)
        else:
            click.echo(f"error: the CDOP database refused the change ({type(exc.orig).__name__})",
                       err=True)
        sys.exit(1)
    if isinstance(exc, (click.ClickException, click.exceptions.Exit, click.Abort)):
        raise exc
    # A last guard, not the way input is checked: validation refuses bad input before
    # this. The exception's text may carry a value, so only its kind is shown.
    if os.environ.get("CDOP_DEBUG"):
        raise exc
    click.echo(f"error: the command stopped on an unexpected {type(exc).__name__}; "
               "what it was writing was rolled back (CDOP_DEBUG=1 shows the details)", err=True)
    sys.exit(1)


class DateParam(click.ParamType):
    """YYYY-MM-DD (or with a time, "YYYY-MM-DD HH:MM") within the sensible range; a bad
    value is refused without repeating it (click's own types quote what was typed).
    Every date option of the CLI is a business date (`--today`, `--received`, `--date`,
    `--at`): none may lie in the future (cdop.validation.not_in_future)."""

    def __init__(self, with_time: bool = False):
        self.with_time = with_time
        self.name = "YYYY-MM-DD HH:MM" if with_time else "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        from cdop.validation import DATE_MAX, DATE_MIN, InputError, not_in_future

        if isinstance(value, dt.datetime):
            return value
        form = "%Y-%m-%d %H:%M" if self.with_time else "%Y-%m-%d"
        try:
            parsed = dt.datetime.strptime(str(value).strip(), form)
        except ValueError:
            self.fail(f"is not in the form {self.name}", param, ctx)
        if not DATE_MIN <= parsed.date() <= DATE_MAX:
            self.fail(f"must lie between {DATE_MIN.year} and {DATE_MAX.year}", param, ctx)
        try:
            not_in_future(param.name if param else "date", parsed)
        except InputError as exc:
            refusal = click.BadParameter(exc.problems[0].message, ctx=ctx, param=param)
            refusal.cdop_reason = exc.problems[0].message  # says why, without the value
            raise refusal from None
        return parsed


DATE = DateParam()
DATETIME = DateParam(with_time=True)


def business_date(value: dt.datetime | None) -> dt.date:
    """The --today option (never in the future: DateParam refuses it), or today in England."""
    from cdop.validation import not_in_future

    if value is None:
        return today_in_england()
    not_in_future("today", value)
    return value.date()


today_option = click.option(
    "--today",
    type=DATE,
    default=None,
    help="Business date to act on (default: today in England).",
)


def read_table(path: Path) -> tuple[list[dict], int]:
    """Records from a CSV (after its header row) or a JSON file (an object or a list of
    objects), numbered from 1 in both (see cdop.validation for the limits)."""
    from cdop.validation import load_table_file

    _, rows = load_table_file(path)
    return rows, 1
