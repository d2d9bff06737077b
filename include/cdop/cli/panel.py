"""`cdop` commands for the panel stage: return content and the family's circumstances,
the case report and the coordinator's check, meetings and members, the analysis and
recommendations. Added to the `cdop` group by `register(main)` in cli/main.py.

Output names cases by case number; the only commands that print confidential text are
`cdop return chronology` (the coordinator redacting what the gate found; audited) and
`cdop report export` (decrypts a report for reading; audited).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from cdop.cli.common import actor, business_date, current_settings, friendly_errors, today_option

existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


# ------------------------------------------------------------------------------ returns


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
    from cdop.requests.returns import load_return_file, record_return_content

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
        rows, first_row = [], 1
        for raw in entries:
            parts = [p.strip() for p in raw.split("|")]
            if len(parts) == 2:
                rows.append({"date": parts[0], "what_happened": parts[1]})
            elif len(parts) == 3:
                rows.append({"date": parts[0], "agency": parts[1], "what_happened": parts[2]})
            else:
                rows.append({"date": parts[0], "what_happened": None})
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
    """List a case's merged chronology with entry numbers, to find what to redact (audited)."""
    from cdop.requests.returns import chronology

    rows = chronology(current_settings(), case_number)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']:>6}  {row['date']}  {row['agency']:8} {row['what_happened']}")


@click.command("amend-entry")
@click.argument("case_number")
@click.argument("entry_id", type=int)
@click.option("--text", help="The new text of the entry.")
@click.option("--date", help="The new date of the entry (YYYY-MM-DD).")
@click.option("--remove", is_flag=True, help="Remove the entry instead.")
@today_option
@friendly_errors
def return_amend_entry(case_number, entry_id, text, date, remove, today) -> None:
    """Amend (or remove) a chronology entry, e.g. to redact a name the gate found."""
    from cdop.requests.returns import amend_entry, remove_entry

    if remove:
        remove_entry(current_settings(), case_number, entry_id)
        click.echo(f"removed chronology entry {entry_id} from {case_number.upper()}")
        return
    amend_entry(current_settings(), case_number, entry_id, what_happened=text, date=date, today=business_date(today))
    click.echo(f"amended chronology entry {entry_id} of {case_number.upper()}")


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


# ------------------------------------------------------------------------------- family


@click.command("family")
@click.argument("case_number")
@click.option("--file", "file_", type=existing_file, help="JSON: {context: {...}, identifiers: [...]}.")
@click.option("--sibling", "siblings", multiple=True, help="A sibling's age band (repeat for each).")
@click.option("--no-siblings", is_flag=True, help="Record that the child had no siblings.")
@click.option("--key-worker", help="Key worker offered: yes, no, declined or not_known.")
@click.option("--bereavement-support", help="Bereavement support offered: yes, no, declined or not_known.")
@click.option("--support-notes", help="Notes on support (no names: the gate checks them).")
@click.option("--identifier", "identifiers", multiple=True,
              help="FIELD=VALUE, e.g. parent_name=... or school=... (kept encrypted, for the gate only).")
@click.option("--replace-identifiers", is_flag=True, help="Replace every identifier recorded for the family.")
@friendly_errors
def case_family(case_number, file_, siblings, no_siblings, key_worker, bereavement_support, support_notes,
                identifiers, replace_identifiers) -> None:
    """Record (or, with no option, show) the family's circumstances and identifiers."""
    from cdop.requests.returns import family_view, load_family_file, record_family

    flags = siblings or no_siblings or key_worker or bereavement_support or support_notes or identifiers
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
                           ("support_notes", support_notes)):
            if value is not None:
                context[key] = value
        idents = [dict(zip(("field", "value"), item.split("=", 1), strict=False)) for item in identifiers]
        context = context or None
    result = record_family(current_settings(), case_number, context=context, identifiers=idents,
                           replace_identifiers=replace_identifiers)
    click.echo(f"recorded the family circumstances of {case_number.upper()} "
               f"({result['context_fields']} field(s), {result['identifiers_added']} identifier(s) added)")


# ------------------------------------------------------------------------------ reports


@click.group("report")
def report_group() -> None:
    """The anonymised case report and the coordinator's check."""


@report_group.command("assemble")
@today_option
@friendly_errors
def report_assemble(today) -> None:
    """Build the report of every case newly ready for panel (what the DAG does)."""
    from cdop.panel.case_reports import assemble_reports

    result = assemble_reports(current_settings(), business_date(today), actor=actor())
    click.echo(f"built {len(result['built'])} report(s) awaiting check, {len(result['blocked'])} blocked")
    for number in result["blocked"]:
        click.echo(f"  blocked: {number} (see `cdop report show {number}`)")


@report_group.command("build")
@click.argument("case_number")
@today_option
@friendly_errors
def report_build(case_number, today) -> None:
    """Build the next version of a case's report (after redacting or amending)."""
    from cdop.panel.case_reports import build_report

    result = build_report(current_settings(), case_number, today=business_date(today))
    click.echo(f"{result.case_number} v{result.version}: {result.status}")
    if result.findings:
        click.echo("  identifier field(s) found: " + ", ".join(result.findings))
        click.echo(f"  see where with `cdop report show {result.case_number}`")


@report_group.command("show")
@click.argument("case_number")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def report_show(case_number, as_json) -> None:
    """Show a case's reports: versions, status, gate findings and decisions."""
    from cdop.panel.case_reports import report_view

    view = report_view(current_settings(), case_number)
    if as_json:
        click.echo(json.dumps(view, indent=2))
        return
    click.echo(f"{view['case_number']}  stage: {view['stage']}")
    if not view["reports"]:
        click.echo("  no case report yet")
    for r in view["reports"]:
        decided = f" by {r['decided_by']} at {r['decided_at']}" if r["decided_by"] else ""
        click.echo(f"  v{r['version']}  built {r['built_on']}  {r['status']}{decided}")
        if r["gate_findings"]:
            click.echo("      identifier field(s) found: " + ", ".join(r["gate_findings"]))
        if r["comments"]:
            click.echo(f"      comments: {r['comments']}")
    for item in view["blocked_at"]:
        click.echo(f"      {item['field']}: in {item['where']}")


@report_group.command("approve")
@click.argument("case_number")
@click.option("--comments", help="Optional comments (no names: the gate checks them).")
@click.option("--version", type=int, help="The version checked (refused if it is not the current one).")
@today_option
@friendly_errors
def report_approve(case_number, comments, version, today) -> None:
    """Approve the current report for the panel."""
    from cdop.panel.case_reports import decide

    result = decide(current_settings(), case_number, approve=True, comments=comments, actor=actor(),
                    today=business_date(today), version=version)
    click.echo(f"{result['case_number']} v{result['version']} approved by {result['decided_by']}")


@report_group.command("return")
@click.argument("case_number")
@click.option("--comments", required=True, help="What to amend (no names: the gate checks them).")
@click.option("--version", type=int, help="The version checked (refused if it is not the current one).")
@today_option
@friendly_errors
def report_return(case_number, comments, version, today) -> None:
    """Return the current report with comments, for amendment and a new version."""
    from cdop.panel.case_reports import decide

    result = decide(current_settings(), case_number, approve=False, comments=comments, actor=actor(),
                    today=business_date(today), version=version)
    click.echo(f"{result['case_number']} v{result['version']} returned by {result['decided_by']}")


@report_group.command("export")
@click.argument("case_number")
@click.option("--to", "target", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--version", type=int)
@friendly_errors
def report_export(case_number, target, version) -> None:
    """Decrypt a report's HTML and PDF into a folder to read them (audited)."""
    from cdop.panel.case_reports import export_report

    for path in export_report(current_settings(), case_number, target, version=version):
        click.echo(str(path))


# -------------------------------------------------------------------------------- panel


@click.group("panel")
def panel_group() -> None:
    """Panel meetings, members, allocation and papers."""


@panel_group.group("member")
def member_group() -> None:
    """Panel members."""


@member_group.command("add")
@click.option("--name", required=True)
@click.option("--role", required=True)
@click.option("--email", required=True, help="Papers go only to an address on a secure route.")
@friendly_errors
def member_add(name, role, email) -> None:
    """Register a panel member (or update the one with this email)."""
    from cdop.panel.meetings import add_member

    result = add_member(current_settings(), name=name, role=role, email=email)
    route = "secure route: receives papers" if result["secure"] else "NOT a secure route: gets a note, no papers"
    click.echo(f"member {result['id']} {'registered' if result['created'] else 'updated'} ({route})")


@member_group.command("list")
@friendly_errors
def member_list() -> None:
    """List panel members."""
    from cdop.panel.meetings import list_members

    for m in list_members(current_settings()):
        flags = ("secure" if m["secure"] else "not secure") + ("" if m["active"] else ", inactive")
        click.echo(f"{m['id']:>4}  {m['name']:28} {m['role']:32} {m['email']} ({flags})")


@member_group.command("deactivate")
@click.argument("email")
@friendly_errors
def member_deactivate(email) -> None:
    """Stop sending papers to a member."""
    from cdop.panel.meetings import set_member_active

    set_member_active(current_settings(), email, active=False)
    click.echo(f"member {email} deactivated")


@panel_group.group("meeting")
def meeting_group() -> None:
    """Panel meetings."""


@meeting_group.command("add")
@click.option("--date", "meets_on", required=True, help="YYYY-MM-DD")
@click.option("--kind", default="general", show_default=True, help="general or neonatal")
@click.option("--capacity", default="8", show_default=True, help="Most cases on the agenda.")
@click.option("--location")
@today_option
@friendly_errors
def meeting_add(meets_on, kind, capacity, location, today) -> None:
    """Register a panel meeting."""
    from cdop.panel.meetings import add_meeting, pack_date

    meeting_id = add_meeting(current_settings(), meets_on=meets_on, kind=kind, capacity=capacity, location=location,
                             today=business_date(today))
    import datetime as dt

    papers = pack_date(current_settings().policy, dt.date.fromisoformat(meets_on))
    click.echo(f"meeting {meeting_id} registered for {meets_on} ({kind}); papers go on {papers}")


@meeting_group.command("list")
@click.option("--all", "include_past", is_flag=True, help="Include past meetings.")
@today_option
@friendly_errors
def meeting_list(include_past, today) -> None:
    """List meetings with their allocations and when the papers go."""
    from cdop.panel.meetings import list_meetings

    for m in list_meetings(current_settings(), today=business_date(today), include_past=include_past):
        sent = "sent" if m["papers_sent"] else f"go on {m['papers_on']}"
        click.echo(f"{m['id']:>4}  {m['meets_on']}  {m['kind']:8} {m['allocated']}/{m['capacity']} cases  "
                   f"papers {sent}  {m['location'] or ''}")


@panel_group.command("allocate")
@today_option
@friendly_errors
def panel_allocate(today) -> None:
    """Allocate each approved case to the next suitable meeting with room (what the DAG does)."""
    from cdop.panel.meetings import allocate_cases

    result = allocate_cases(current_settings(), business_date(today), actor=actor())
    click.echo(f"allocated {len(result['allocated'])} case(s)"
               + (f"; {len(result['waiting'])} wait for a meeting with room" if result["waiting"] else ""))


@panel_group.command("agenda")
@click.argument("meeting_id", type=int)
@friendly_errors
def panel_agenda(meeting_id) -> None:
    """A meeting's agenda (case numbers and anonymised facts)."""
    from cdop.panel.meetings import agenda

    view = agenda(current_settings(), meeting_id)
    click.echo(f"meeting {view['id']} on {view['meets_on']} ({view['kind']}), papers on {view['papers_on']}")
    for i, case in enumerate(view["cases"], start=1):
        click.echo(f"  {i}. {case['case_number']}  {case['age_band']:12} "
                   f"{'expected' if case['expected'] else 'unexpected':10} report v{case['report_version']}"
                   f"  {case['pack'] or 'not sent yet'}")


# ----------------------------------------------------------------------------- analysis


@click.group("analysis")
def analysis_group() -> None:
    """The panel's analysis of a case (the analysis form)."""


@analysis_group.command("record")
@click.argument("case_number")
@click.option("--file", "file_", type=existing_file, help="JSON analysis form (include/templates/returns/).")
@click.option("--category", help="Category of death (taxonomy code).")
@click.option("--modifiable", help="yes, no or insufficient.")
@click.option("--learning")
@click.option("--reviewed-on", help="Date of the review (default: the meeting's date).")
@click.option("--factor", "factors", multiple=True, help="'DOMAIN|yes-or-no|description' (repeat).")
@click.option("--recommendation", "recommendations", multiple=True,
              help="'AGENCY|YYYY-MM-DD|text' to a directory agency (repeat; use --file for others).")
@today_option
@friendly_errors
def analysis_record(case_number, file_, category, modifiable, learning, reviewed_on, factors,
                    recommendations, today) -> None:
    """Record the panel's analysis; the case closes and recommendations go out."""
    from cdop.panel.analysis import load_analysis_file, record_analysis

    flags = category or modifiable or learning or reviewed_on or factors or recommendations
    if file_ is not None and flags:
        raise click.UsageError("give either --file or the options, not both")
    if file_ is not None:
        data = load_analysis_file(file_)
    else:
        data = {"category": category, "modifiable": modifiable, "learning": learning,
                "reviewed_on": reviewed_on,
                "factors": [dict(zip(("domain", "contributed", "description"), f.split("|", 2), strict=False))
                            for f in factors],
                "recommendations": [dict(zip(("agency", "due_on", "text"), r.split("|", 2), strict=False))
                                    for r in recommendations]}
    result = record_analysis(current_settings(), case_number, data, today=business_date(today), actor=actor())
    recs = ", ".join(f"R{i}" for i in result["recommendations"]) or "none"
    click.echo(f"recorded the analysis of {result['case_number']}; case closed on {result['closed_on']}; "
               f"recommendations: {recs}")


@analysis_group.command("show")
@click.argument("case_number")
@friendly_errors
def analysis_show(case_number) -> None:
    """Show a case's analysis (anonymised) as JSON."""
    from cdop.panel.analysis import analysis_view

    view = analysis_view(current_settings(), case_number)
    click.echo(json.dumps(view, indent=2) if view else f"no analysis recorded for {case_number.upper()}")


@click.group("recommendation")
def recommendation_group() -> None:
    """Panel recommendations and their progress."""


@recommendation_group.command("list")
@click.option("--case", "case_number")
@click.option("--open", "open_only", is_flag=True, help="Only those not completed or not accepted.")
@friendly_errors
def recommendation_list(case_number, open_only) -> None:
    """List recommendations with status and the next progress request."""
    from cdop.panel.analysis import list_recommendations

    for r in list_recommendations(current_settings(), case_number=case_number, open_only=open_only):
        click.echo(f"R{r['id']:<5} {r['case_number']}  due {r['due_on']}  {r['status']:12} "
                   f"next request {r['next_follow_up_on'] or '-':10}  {r['organisation']}")


@recommendation_group.command("update")
@click.argument("recommendation_id")
@click.option("--status", required=True, help="in_progress, completed or not_accepted")
@click.option("--progress", required=True, help="What the organisation reported (no names).")
@today_option
@friendly_errors
def recommendation_update(recommendation_id, status, progress, today) -> None:
    """Record progress on a recommendation (R12 or 12)."""
    from cdop.panel.analysis import record_recommendation_update

    number = recommendation_id.upper().removeprefix("R")
    if not number.isdigit():
        raise click.UsageError("RECOMMENDATION_ID is a number such as R12")
    view = record_recommendation_update(current_settings(), int(number), status=status, progress=progress,
                                        today=business_date(today))
    click.echo(f"R{view['id']} {view['status']}; next progress request: {view['next_follow_up_on'] or 'none'}")


GROUPS = (report_group, panel_group, analysis_group, recommendation_group)


def register(main: click.Group) -> None:
    for group in GROUPS:
        main.add_command(group)
    for command in (return_content, return_chronology, return_amend_entry, return_amend_summary):
        main.commands["return"].add_command(command)
    main.commands["case"].add_command(case_family)
