"""`cdop panel`: members, meetings, allocation of cases to meetings and the agenda."""

from __future__ import annotations

import click

from cdop.cli.common import actor, business_date, current_settings, friendly_errors, today_option

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
