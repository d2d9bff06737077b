"""`cdop panel`: members, meetings, allocation of cases to meetings and the agenda."""

from __future__ import annotations

import click

from cdop.cli.common import actor, business_date, current_settings, friendly_errors, today_option
from cdop.wording import plural

# ------------------------------------------------------------------------------ returns


# ------------------------------------------------------------------------------- family


# ------------------------------------------------------------------------------ reports


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
@click.option("--time", "starts_at", help="Time of day it starts, HH:MM.")
@click.option("--kind", default="general", show_default=True, help="general or neonatal")
@click.option("--capacity", default="8", show_default=True, help="Most cases on the agenda.")
@click.option("--location")
@click.option("--member", "members", multiple=True,
              help="Panel member id to invite (repeat; default: every active member).")
@today_option
@friendly_errors
def meeting_add(meets_on, starts_at, kind, capacity, location, members, today) -> None:
    """Register a panel meeting."""
    from cdop.panel.meetings import add_meeting, pack_date

    meeting_id = add_meeting(current_settings(), meets_on=meets_on, kind=kind, capacity=capacity, location=location,
                             today=business_date(today), starts_at=starts_at, members=list(members) or None,
                             actor=actor())
    import datetime as dt

    papers = pack_date(current_settings().policy, dt.date.fromisoformat(meets_on))
    click.echo(f"meeting {meeting_id} registered for {meets_on} ({kind}); papers go on {papers}")


@meeting_group.command("list")
@click.option("--upcoming", is_flag=True, help="Only meetings from the business date on.")
@click.option("--all", "_all", is_flag=True, hidden=True, help="Past meetings are listed anyway.")
@today_option
@friendly_errors
def meeting_list(upcoming, _all, today) -> None:
    """List meetings, past ones too, with time, place, members, cases and papers."""
    from cdop.panel.meetings import list_meetings

    day = business_date(today)
    for m in list_meetings(current_settings(), today=day, include_past=not upcoming):
        sent = "sent" if m["papers_sent"] else f"go on {m['papers_on']}"
        when = "held" if m["held"] else "ahead"
        people = plural(len(m['members']), "member")
        if when == "held":
            people += f" ({m['attended']} attended, {m['apologies']} apologies)"
        click.echo(f"{m['id']:>4}  {m['meets_on']} {m['starts_at'] or '--:--'}  {when:5} {m['kind']:8} "
                   f"{m['allocated']}/{m['capacity']} cases  {people}  papers {sent}  {m['location'] or ''}")


@meeting_group.command("record")
@click.argument("meeting_id", type=int)
@click.option("--attended", multiple=True, help="Member id who attended (repeat).")
@click.option("--apologies", multiple=True, help="Member id who sent apologies (repeat).")
@click.option("--minutes-file", type=click.Path(exists=True, dir_okay=False), help="The minutes, UTF-8 text.")
@click.option("--outcome", "outcomes", multiple=True,
              help="CASE_NUMBER=reviewed|deferred|more_information (repeat).")
@today_option
@friendly_errors
def meeting_record(meeting_id, attended, apologies, minutes_file, outcomes, today) -> None:
    """Record a meeting that has happened: attendance, apologies, minutes, each case's outcome."""
    from pathlib import Path

    from cdop.panel.meetings import record_meeting
    from cdop.store.statuses import AttendanceStatus
    from cdop.validation import InputError, Problem

    marks = {}
    for status, ids in ((AttendanceStatus.ATTENDED, attended), (AttendanceStatus.APOLOGIES, apologies)):
        for position, value in enumerate(ids, start=1):
            if not value.strip().isdigit():
                raise InputError([Problem(f"--{status}", f"is not a member id (item {position})")])
            marks[int(value)] = status
    chosen = {}
    for position, item in enumerate(outcomes, start=1):
        number, sep, code = item.partition("=")
        if not sep:
            raise InputError([Problem("--outcome", f"must be CASE_NUMBER=outcome (item {position})")])
        chosen[number.strip().upper()] = code.strip()
    minutes = None
    if minutes_file:
        try:
            minutes = Path(minutes_file).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InputError([Problem("--minutes-file", "is not UTF-8 text")]) from exc
    result = record_meeting(current_settings(), meeting_id, today=business_date(today), actor=actor(),
                            attendance=marks, minutes=minutes, outcomes=chosen)
    click.echo(f"meeting {meeting_id}: {result['members']} members, {result['attended']} attended, "
               f"{result['apologies']} apologies, {result['outcomes']} outcome(s) recorded")


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
