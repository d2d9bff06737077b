"""What every `cdop` command shares: settings, the business date, the CDOP's error
handling (field and row named, never the value, no traceback) and file reading."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import sys
from pathlib import Path

import click
from sqlalchemy.exc import DBAPIError

from cdop.config import ConfigError, Settings, get_settings, local_today

EXIT_INPUT = 2

existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


def current_settings() -> Settings:
    return get_settings()


def actor() -> str:
    return current_settings().actor
def friendly_errors(fn):
    """Turn domain errors into a clear message and a non-zero exit, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from cdop.intake.notifications import DuplicateNotification
        from cdop.store.lookups import NotFound
        from cdop.validation import InputError

        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            click.echo("error: nothing was written:", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(EXIT_INPUT)
        except (DuplicateNotification, NotFound, ConfigError) as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_INPUT)
        except DBAPIError as exc:
            # SQLAlchemy's own text carries the statement's parameters, which may be
            # identifiers: say what kind of failure it was, never the values.
            text = str(exc.orig).lower()
            if "no such table" in text or "does not exist" in text:
                click.echo("error: the CDOP database is not set up: run `cdop db upgrade`", err=True)
            else:
                click.echo(f"error: the CDOP database refused the change ({type(exc.orig).__name__})",
                           err=True)
            sys.exit(1)

    return wrapper


def business_date(value: dt.datetime | None) -> dt.date:
    """The --today option, or today in England."""
    return value.date() if value else local_today()


today_option = click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Business date to act on (default: today in England).",
)


def read_table(path: Path) -> tuple[list[dict], int | None]:
    """Rows from a CSV (header row 1, so data starts at row 2) or JSON (a list; row 1)."""
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
            raise click.ClickException("the JSON file must hold an object or a list of objects")
        return data, 1
    with path.open(newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh)), 2


