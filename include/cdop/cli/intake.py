"""`cdop agencies`, `notify`, `case show|list`, `return record`, `investigation record`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from cdop.cli.common import (
    DATE,
    business_date,
    current_settings,
    friendly_errors,
    read_table,
    today_option,
)
from cdop.wording import plural

# ------------------------------------------------------------------------------ agencies


@click.group()
def agencies() -> None:
    """The agency directory."""


@agencies.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@friendly_errors
def agencies_import(csv_file: Path) -> None:
    """Import or update agencies from CSV: code,name,type,request_email,escalation_email,secure,phone."""
    from cdop.intake.agencies import import_agencies

    rows, _ = read_table(csv_file)
    result = import_agencies(current_settings(), rows)
    click.echo(f"agencies: {result['created']} created, {result['updated']} updated")


@agencies.command("list")
@friendly_errors
def agencies_list() -> None:
    """List the agency directory."""
    from sqlalchemy import select

    from cdop.store.db import unit_of_work
    from cdop.store.models import Agency

    with unit_of_work(current_settings()) as uow:
        for a in uow.session.scalars(select(Agency).order_by(Agency.code)):
            route = "secure" if a.secure_email else "not secure"
            click.echo(f"{a.code:8} {a.agency_type:17} {route:10} {a.request_email:45} {a.name}")


# ------------------------------------------------------------------------ notifications


class _NotifyCommand(click.Command):
    """`cdop notify --help` ends with the codes each coded option takes, read from the
    taxonomy when the help is asked for (not when the module is imported)."""

    VOCABULARIES = (("--sex", "sex"), ("--ethnicity", "ethnicity"), ("--place-of-death", "place_of_death"),
                    ("--circumstance", "circumstance"), ("--investigation", "investigation"))

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from cdop.taxonomy import taxonomy

        tax = taxonomy()
        with formatter.section("Codes"):
            formatter.write_dl([(option, ", ".join(tax.labels(vocabulary)))
                                for option, vocabulary in self.VOCABULARIES])
        formatter.write_paragraph()
        formatter.write_text("Agency codes: `cdop agencies list`. Dates are YYYY-MM-DD.")


@click.command("notify", cls=_NotifyCommand)
@click.option("--file", "file_", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV or JSON file of notifications (all-or-nothing; columns: docs/reference/data-formats.md).")
@click.option("--forenames")
@click.option("--surname")
@click.option("--date-of-birth", "date_of_birth", help="YYYY-MM-DD.")
@click.option("--date-of-death", "date_of_death", help="YYYY-MM-DD.")
@click.option("--nhs-number", "nhs_number", help="10 digits, spaces allowed (optional).")
@click.option("--sex", help="A code: see Codes below.")
@click.option("--ethnicity", help="A code: see Codes below (optional).")
@click.option("--address")
@click.option("--postcode")
@click.option("--deprivation-decile", "deprivation_decile", help="1-10, if known (optional).")
@click.option("--place-of-death", "place_of_death", help="A code: see Codes below.")
@click.option("--expected", help="yes or no.")
@click.option("--circumstance", "circumstances", multiple=True, help="A code (repeat): see Codes below.")
@click.option("--agency", "agencies_", multiple=True, help="Agency code (repeat for each).")
@click.option("--investigation", "investigations", multiple=True,
              help="A process that applies (repeat): see Codes below.")
@click.option("--notifier-name", "notifier_name")
@click.option("--notifier-role", "notifier_role")
@click.option("--notifier-email", "notifier_email")
@today_option
@friendly_errors
def notify(file_, agencies_, circumstances, investigations, today, **fields) -> None:
    """Register a child death notification (or many, from --file)."""
    from cdop.intake.notifications import register_notifications

    if file_ is not None:
        if any(v for v in fields.values()) or agencies_:
            raise click.UsageError("give either --file or the fields, not both")
        rows, first_row = read_table(file_)
    else:
        row = dict(fields, agencies=list(agencies_), circumstances=list(circumstances),
                   investigations=list(investigations))
        rows, first_row = [row], None
    numbers = register_notifications(current_settings(), rows, today=business_date(today), first_row=first_row)
    for number in numbers:
        click.echo(f"registered {number}")


# --------------------------------------------------------------------------------- cases


@click.group()
def case() -> None:
    """Look at cases."""


@case.command("show")
@click.argument("case_number")
@click.option("--reveal", is_flag=True, help="Include identifiable details (audited; needs --reason).")
@click.option("--reason", help="Why the identifiers are needed (required with --reveal; kept, encrypted, "
                               "in the audit trail).")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def case_show(case_number: str, reveal: bool, reason: str | None, as_json: bool) -> None:
    """Show a case: stage, requests, investigations."""
    from cdop.intake.cases import describe_case

    if reason and not reveal:
        raise click.UsageError("--reason goes with --reveal")
    view = describe_case(current_settings(), case_number, reveal=reveal, reason=reason)
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    click.echo(f"{view['case_number']}  stage: {view['stage']}")
    # The exact date of death is an identifier: shown only with --reveal (audited).
    click.echo(f"  died aged {view['age_band']}, {view['sex']}, "
               f"{'expected' if view['expected'] else 'unexpected'}, place: {view['place_of_death']}")
    if reveal:
        ident = view["identifiable"]
        click.echo(f"  {ident['forenames']} {ident['surname']}, born {ident['date_of_birth']}, "
                   f"died {ident['date_of_death']}, "
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
@click.option("--stage", help="Only cases at this stage (e.g. ready_for_panel, allocated_to_meeting).")
@click.option("--open", "state", flag_value="open", help="Only open cases.")
@click.option("--closed", "state", flag_value="closed", help="Only closed cases.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--page-size", "size", default=50, show_default=True, type=click.IntRange(1, 500))
@friendly_errors
def case_list(stage, state, page, size) -> None:
    """List cases newest first, a page at a time, with stage, age band and expected or
    unexpected (case numbers only)."""
    from cdop.rules.stages import STAGE_ORDER
    from cdop.store.db import unit_of_work
    from cdop.validation import InputError, Problem
    from cdop.views.pipeline import case_list as list_cases

    stages = [s.value for s in STAGE_ORDER]
    if stage is not None and stage.strip() not in stages:
        raise InputError([Problem("stage", "is not a stage: one of " + ", ".join(stages))])
    with unit_of_work(current_settings()) as uow:
        result = list_cases(uow.session, stage=stage.strip() if stage else None,
                            open_only={"open": True, "closed": False}.get(state), page=page, size=size)
    for c in result.rows:
        flag = "  ! no CDRM or joint agency response" if c["no_review_meeting"] else ""
        closed = f" closed {c['closed_on']}" if c["closed_on"] else ""
        click.echo(f"{c['case_number']}  {c['stage']:25} notified {c['notified_on']}{closed}  "
                   f"{c['age_band']:13} {c['expected_label']:10}{flag}")
    if result.number > result.pages:
        click.echo(f"\nno page {result.number}: {plural(result.total, 'case')} make "
                   f"{plural(result.pages, 'page')} of {result.size}", err=True)
        return
    shown = f"{(result.number - 1) * result.size + 1}-{(result.number - 1) * result.size + len(result.rows)}"
    click.echo(f"\npage {result.number} of {result.pages}: cases {shown if result.rows else 'none'} "
               f"of {result.total}, newest first" + (" (--page N for more)" if result.has_next else ""),
               err=True)


# ----------------------------------------------------------------------- returns, processes


@click.group("return")
def return_() -> None:
    """Agency returns."""


@return_.command("record")
@click.argument("case_number")
@click.argument("agency_code")
@click.option("--received", type=DATE, required=True)
@click.option("--file", "file_", type=click.Path(dir_okay=False, path_type=Path))
@today_option
@friendly_errors
def return_record(case_number, agency_code, received, file_, today) -> None:
    """Record that an agency returned its form (stops its reminders)."""
    from cdop.requests.returns import record_return
    from cdop.validation import agency_code as code_of
    from cdop.validation import case_number as number_of

    number, code = number_of(case_number), code_of(agency_code)
    record_return(current_settings(), number, code, received_on=received.date(),
                  today=business_date(today), file=file_)
    click.echo(f"recorded return from {code} for {number}")


@click.group()
def investigation() -> None:
    """Parallel processes: inquest, police investigation, CSPR, CDRM and others."""


@investigation.command("record")
@click.argument("case_number")
@click.argument("kind")
@click.option("--status", required=True, help="not_started, in_progress, concluded or not_applicable")
@click.option("--date", "on", type=DATE, help="Start or conclusion date.")
@click.option("--outcome", help="Outcome (kept encrypted).")
@today_option
@friendly_errors
def investigation_record(case_number, kind, status, on, outcome, today) -> None:
    """Add or update an investigation's status."""
    from cdop.intake.investigations import record_investigation
    from cdop.validation import case_number as number_of

    number = number_of(case_number)
    result = record_investigation(current_settings(), number, kind, status=status,
                                  on=on.date() if on else None, today=business_date(today), outcome=outcome)
    click.echo(f"recorded {result['kind']} {result['status']} for {number}")


COMMANDS = (agencies, notify, case, return_, investigation)
