"""`cdop return content|chronology|amend-entry|amend-summary` and `cdop case family`:
what an agency returned, and the family's circumstances and identifiers. The only
commands here that print confidential text are `return chronology` (the coordinator
redacting what the gate found; audited)."""

from __future__ import annotations

import json

import click

from cdop.cli.common import (
    business_date,
    current_settings,
    existing_file,
    friendly_errors,
    today_option,
)


@click.command("content")
@click.argument("case_number")
@click.argument("agency_code")
@click.option("--file", "file_", type=existing_file,
              help="The return template filled in (CSV or JSON; include/templates/returns/).")
@click.option("--summary", help="The return's summary (instead of, or as well as, a file).")
@click.option("--entry", "entries", multiple=True,
              help="A chronology entry 'YYYY-MM-DD|what happened' or 'YYYY-MM-DD|AGENCY|what happened' (repeat).")
@click.option("--replace", is_flag=True, help="Replace the chronology entries this return already has.")
@today_option
@friendly_errors
def return_content(case_number, agency_code, file_, summary, entries, replace, today) -> None:
    """Record what an agency returned: its summary and chronology (all-or-nothing)."""
    from cdop.requests.returns import load_return_file, record_return_content, typed_entries

    if file_ is not None and entries:
        raise click.UsageError("give either --file or --entry, not both")
    problems = []
    if file_ is not None:
        file_summary, rows, first_row, problems = load_return_file(
            file_, case_number=case_number, agency_code=agency_code)
        if summary and file_summary:
            raise click.UsageError("the file already holds a summary: leave out --summary")
        summary = summary or file_summary
    else:
        rows, first_row = typed_entries(entries), 1
    result = record_return_content(current_settings(), case_number, agency_code, summary=summary, entries=rows,
                                   today=business_date(today), first_row=first_row, replace=replace,
                                   problems=problems)
    click.echo(f"recorded {result['entries']} chronology entries"
               + (" and the summary" if result["summary"] else "")
               + f" for the {agency_code.upper()} return on {case_number.upper()}")


@click.command("chronology")
@click.argument("case_number")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def return_chronology(case_number, as_json) -> None:
    """List a case's merged chronology, its entries numbered 1..n within the case (audited)."""
    from cdop.requests.returns import chronology

    rows = chronology(current_settings(), case_number)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['number']:>4}  {row['date']}  {row['agency']:8} {row['what_happened']}")


@click.command("amend-entry")
@click.argument("case_number")
@click.argument("entry_number", type=int)
@click.option("--text", help="The new text of the entry.")
@click.option("--date", help="The new date of the entry (YYYY-MM-DD).")
@click.option("--remove", is_flag=True, help="Remove the entry instead.")
@today_option
@friendly_errors
def return_amend_entry(case_number, entry_number, text, date, remove, today) -> None:
    """Amend (or remove) chronology entry ENTRY_NUMBER (as `return chronology` numbers it)."""
    from cdop.requests.returns import amend_entry, remove_entry

    if remove:
        remove_entry(current_settings(), case_number, entry_number)
        click.echo(f"removed chronology entry {entry_number} from {case_number.upper()}")
        return
    amend_entry(current_settings(), case_number, entry_number, what_happened=text, date=date,
                today=business_date(today))
    click.echo(f"amended chronology entry {entry_number} of {case_number.upper()}")


@click.command("amend-summary")
@click.argument("case_number")
@click.argument("agency_code")
@click.option("--text", required=True, help="The new summary.")
@friendly_errors
def return_amend_summary(case_number, agency_code, text) -> None:
    """Replace the summary of an agency's return, e.g. to redact a name the gate found."""
    from cdop.requests.returns import amend_summary

    amend_summary(current_settings(), case_number, agency_code, summary=text)
    click.echo(f"amended the summary of the {agency_code.upper()} return on {case_number.upper()}")


@click.command("family")
@click.argument("case_number")
@click.option("--file", "file_", type=existing_file, help="JSON: {context: {...}, identifiers: [...]}.")
@click.option("--sibling", "siblings", multiple=True, help="A sibling's age band (repeat for each).")
@click.option("--no-siblings", is_flag=True, help="Record that the child had no siblings.")
@click.option("--key-worker", help="Key worker offered: yes, no, declined or not_known.")
@click.option("--bereavement-support", help="Bereavement support offered: yes, no, declined or not_known.")
@click.option("--support-notes", help="Notes on support (no names: the gate checks them).")
@click.option("--office-notes", help="The office's own notes (internal only: never printed for the panel "
                                     "or the public, so they may name people).")
@click.option("--identifier", "identifiers", multiple=True,
              help="FIELD=VALUE, e.g. parent_name=... or school=... (kept encrypted, for the gate only).")
@click.option("--replace-identifiers", is_flag=True, help="Replace every identifier recorded for the family.")
@friendly_errors
def case_family(case_number, file_, siblings, no_siblings, key_worker, bereavement_support, support_notes,
                office_notes, identifiers, replace_identifiers) -> None:
    """Record (or, with no option, show) the family's circumstances and identifiers."""
    from cdop.intake.family import family_view, load_family_file, record_family

    flags = (siblings or no_siblings or key_worker or bereavement_support or support_notes or office_notes
             or identifiers)
    if file_ is None and not flags:
        view = family_view(current_settings(), case_number)
        click.echo(json.dumps(view, indent=2))
        return
    if file_ is not None and flags:
        raise click.UsageError("give either --file or the options, not both")
    if file_ is not None:
        data = load_family_file(file_)
        context, idents = data.get("context"), data.get("identifiers") or []
    else:
        context = {}
        if siblings or no_siblings:
            context["siblings"] = list(siblings)
        for key, value in (("key_worker_offered", key_worker),
                           ("bereavement_support_offered", bereavement_support),
                           ("support_notes", support_notes), ("office_notes", office_notes)):
            if value is not None:
                context[key] = value
        idents = [dict(zip(("field", "value"), item.split("=", 1), strict=False)) for item in identifiers]
        context = context or None
    result = record_family(current_settings(), case_number, context=context, identifiers=idents,
                           replace_identifiers=replace_identifiers)
    click.echo(f"recorded the family circumstances of {case_number.upper()} "
               f"({result['context_fields']} field(s), {result['identifiers_added']} identifier(s) added)")


RETURN_COMMANDS = (return_content, return_chronology, return_amend_entry, return_amend_summary)
