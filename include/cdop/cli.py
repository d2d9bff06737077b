"""`cdop`: the coordinator's command-line tool.

Every command validates first and writes all-or-nothing; errors name the field and the
row, never the value. Commands that act "today" take --today (the business date), which
defaults to the real date.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import sys
from pathlib import Path

import click
from sqlalchemy.exc import DBAPIError

from cdop.config import ConfigError, get_settings

EXIT_INPUT = 2


def _settings():
    return get_settings()


def friendly_errors(fn):
    """Turn domain errors into a clear message and a non-zero exit, without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from cdop.intake import DuplicateNotification, NotFound
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


def _today(value: dt.datetime | None) -> dt.date:
    return value.date() if value else dt.date.today()


today_option = click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Business date to act on (default: the real date).",
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


@click.group()
def main() -> None:
    """Child Death Overview Panel case-review workflow."""


# ------------------------------------------------------------------------------ db / keys


@main.group()
def db() -> None:
    """The CDOP database."""


@db.command("upgrade")
@friendly_errors
def db_upgrade() -> None:
    """Create or migrate the CDOP database to the latest schema (safe to rerun)."""
    from cdop.db import migrate

    migrate(_settings())
    click.echo("CDOP database is up to date")


@main.group()
def keys() -> None:
    """Encryption keys for identifiable fields."""


@keys.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key (put it first in CDOP_ENCRYPTION_KEYS to rotate)."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


@keys.command("rotate")
@friendly_errors
def keys_rotate() -> None:
    """Re-encrypt every identifiable field with the first key, and re-index."""
    from cdop.keys import rotate

    counts = rotate(_settings())
    click.echo(f"re-encrypted {counts['rows']} row(s) and {counts['files']} file(s); "
               "the older keys can now be removed")


# ------------------------------------------------------------------------------ agencies


@main.group()
def agencies() -> None:
    """The agency directory."""


@agencies.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly_errors
def agencies_import(csv_file: Path) -> None:
    """Import or update agencies from CSV: code,name,type,request_email,escalation_email,secure,phone."""
    from cdop.intake import import_agencies

    rows, _ = read_table(csv_file)
    result = import_agencies(_settings(), rows)
    click.echo(f"agencies: {result['created']} created, {result['updated']} updated")


@agencies.command("list")
@friendly_errors
def agencies_list() -> None:
    """List the agency directory."""
    from sqlalchemy import select

    from cdop.db import unit_of_work
    from cdop.models import Agency

    with unit_of_work(_settings()) as uow:
        for a in uow.session.scalars(select(Agency).order_by(Agency.code)):
            route = "secure" if a.secure_email else "not secure"
            click.echo(f"{a.code:8} {a.agency_type:17} {route:10} {a.request_email:45} {a.name}")


# ------------------------------------------------------------------------ notifications


@main.command("notify")
@click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV or JSON file of notifications (all-or-nothing).")
@click.option("--forenames")
@click.option("--surname")
@click.option("--date-of-birth", "date_of_birth")
@click.option("--date-of-death", "date_of_death")
@click.option("--nhs-number", "nhs_number")
@click.option("--sex")
@click.option("--ethnicity")
@click.option("--address")
@click.option("--postcode")
@click.option("--deprivation-decile", "deprivation_decile")
@click.option("--place-of-death", "place_of_death")
@click.option("--expected", type=click.Choice(["yes", "no"]))
@click.option("--circumstance", "circumstances", multiple=True)
@click.option("--agency", "agencies_", multiple=True, help="Agency code (repeat for each).")
@click.option("--investigation", "investigations", multiple=True, help="Process that applies (repeat).")
@click.option("--notifier-name", "notifier_name")
@click.option("--notifier-role", "notifier_role")
@click.option("--notifier-email", "notifier_email")
@today_option
@friendly_errors
def notify(file_, agencies_, circumstances, investigations, today, **fields) -> None:
    """Register a child death notification (or many, from --file)."""
    from cdop.intake import register_notifications

    if file_ is not None:
        if any(v for v in fields.values()) or agencies_:
            raise click.UsageError("give either --file or the fields, not both")
        rows, first_row = read_table(file_)
    else:
        row = dict(fields, agencies=list(agencies_), circumstances=list(circumstances),
                   investigations=list(investigations))
        rows, first_row = [row], None
    numbers = register_notifications(_settings(), rows, today=_today(today), first_row=first_row)
    for number in numbers:
        click.echo(f"registered {number}")


# --------------------------------------------------------------------------------- cases


@main.group()
def case() -> None:
    """Look at cases."""


@case.command("show")
@click.argument("case_number")
@click.option("--reveal", is_flag=True, help="Include identifiable details (audited).")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def case_show(case_number: str, reveal: bool, as_json: bool) -> None:
    """Show a case: stage, requests, investigations."""
    from cdop.intake import describe_case

    view = describe_case(_settings(), case_number, reveal=reveal)
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    click.echo(f"{view['case_number']}  stage: {view['stage']}")
    click.echo(f"  died {view['date_of_death']} aged {view['age_band']}, {view['sex']}, "
               f"{'expected' if view['expected'] else 'unexpected'}, place: {view['place_of_death']}")
    if reveal:
        ident = view["identifiable"]
        click.echo(f"  {ident['forenames']} {ident['surname']}, born {ident['date_of_birth']}, "
                   f"NHS {ident['nhs_number'] or '-'}, {ident['postcode'] or '-'}")
    click.echo(f"  NCMD notified: {view['ncmd_notified_at'] or 'not yet'}")
    click.echo("  requests:")
    for r in view["requests"]:
        click.echo(f"    {r['agency']:8} {r['status']:9} sent {r['requested_on'] or '-':10} "
                   f"due {r['due_on'] or '-':10} returned {r['returned_on'] or '-':10} "
                   f"step {r['ladder_step']}  forms: {', '.join(r['forms'])}")
    click.echo("  investigations:")
    for i in view["investigations"] or [{"kind": "(none recorded)", "status": "", "concluded_on": None}]:
        click.echo(f"    {i['kind']:16} {i['status']:14} {i['concluded_on'] or ''}")


@case.command("list")
@friendly_errors
def case_list() -> None:
    """List cases with their stage (case numbers only)."""
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    from cdop.db import unit_of_work
    from cdop.intake import case_stage
    from cdop.models import Case

    with unit_of_work(_settings()) as uow:
        cases = uow.session.scalars(
            select(Case).options(selectinload(Case.requests), selectinload(Case.investigations))
            .order_by(Case.case_number)
        )
        for c in cases:
            click.echo(f"{c.case_number}  {case_stage(c).value:26} notified {c.notified_on}")


# ----------------------------------------------------------------------- returns, processes


@main.group("return")
def return_() -> None:
    """Agency returns."""


@return_.command("record")
@click.argument("case_number")
@click.argument("agency_code")
@click.option("--received", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--file", "file_", type=click.Path(dir_okay=False, path_type=Path))
@today_option
@friendly_errors
def return_record(case_number, agency_code, received, file_, today) -> None:
    """Record that an agency returned its form (stops its reminders)."""
    from cdop.intake import record_return

    record_return(_settings(), case_number, agency_code, received_on=received.date(),
                  today=_today(today), file=file_)
    click.echo(f"recorded return from {agency_code.upper()} for {case_number.upper()}")


@main.group()
def investigation() -> None:
    """Parallel processes: inquest, police, CSPR, CDRM..."""


@investigation.command("record")
@click.argument("case_number")
@click.argument("kind")
@click.option("--status", required=True, help="not_started, in_progress, concluded or not_applicable")
@click.option("--date", "on", type=click.DateTime(["%Y-%m-%d"]), help="Start or conclusion date.")
@click.option("--outcome", help="Outcome (kept encrypted).")
@today_option
@friendly_errors
def investigation_record(case_number, kind, status, on, outcome, today) -> None:
    """Add or update an investigation's status."""
    from cdop.intake import record_investigation

    record_investigation(_settings(), case_number, kind, status=status,
                         on=on.date() if on else None, today=_today(today), outcome=outcome)
    click.echo(f"recorded {kind} {status} for {case_number.upper()}")


# ---------------------------------------------------------------------------- demo, mail


@main.group()
def demo() -> None:
    """Demo data (fictional)."""


@demo.command("load")
@today_option
@friendly_errors
def demo_load(today) -> None:
    """Load the demo agency directory and about 20 fictional cases (once)."""
    from cdop.demo import load_demo

    result = load_demo(_settings(), today=_today(today))
    click.echo(result)


@main.command("smtp-sink")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8025, type=int)
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path))
def smtp_sink_cmd(host: str, port: int, directory: Path | None) -> None:
    """Run the local SMTP server that keeps every message as an .eml file."""
    from cdop.smtp_sink import serve_forever

    serve_forever(directory or _settings().mail_dir, host, port)


@main.command("dev-cert")
@click.option("--host", required=True, help="Host name the certificate is for (e.g. mailpit).")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False, path_type=Path))
def dev_cert(host: str, directory: Path) -> None:
    """Make a self-signed certificate for a mail catcher (trying the stack out only)."""
    from cdop.devcert import make_certificate

    cert, key = make_certificate(directory, host)
    # The catcher's container reads the key as another user; it is a throwaway demo key.
    key.chmod(0o644)
    click.echo(f"certificate {cert}  key {key}")


# Commands of other areas live in their own modules (cli_<area>.py), which use the
# helpers above, and register here.
from cdop import cli_annual_report, cli_chasing, cli_panel  # noqa: E402

cli_chasing.register(main)  # request, ncmd, chase, digest, simulate
cli_panel.register(main)  # report, panel, analysis, recommendation, return content, case family
main.add_command(cli_annual_report.annual_report)


if __name__ == "__main__":
    main()
