"""`cdop` commands for chasing and readiness: waivers, the NCMD, what is overdue, the
daily digest, and the simulation. Registered in cli.py by `register(main)`."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import tempfile
from pathlib import Path

import click

from cdop.cli.common import DATETIME, business_date, current_settings, friendly_errors, today_option
from cdop.clock import today_in_england
from cdop.wording import plural


@click.group("request")
def request_group() -> None:
    """Agency requests: waive a return that is not needed, or correct why it was."""


@request_group.command("waive")
@click.argument("case_number")
@click.argument("agency_code")
@click.option("--reason", required=True, help="Why the return is not needed (no names or identifiers).")
@today_option
@friendly_errors
def request_waive(case_number: str, agency_code: str, reason: str, today) -> None:
    """Waive an agency's return: it counts as done for readiness and chasing stops (audited)."""
    from cdop.requests.agency_requests import waive_request

    waive_request(current_settings(), case_number, agency_code, reason=reason, today=business_date(today))
    click.echo(f"waived the return from {agency_code.upper()} for {case_number.upper()}")


@request_group.command("amend-waiver")
@click.argument("case_number")
@click.argument("agency_code")
@click.option("--reason", required=True, help="The corrected reason (people by role, no names).")
@friendly_errors
def request_amend_waiver(case_number: str, agency_code: str, reason: str) -> None:
    """Correct a waived return's reason (checked by the anonymisation gate; audited)."""
    from cdop.cli.common import actor
    from cdop.requests.agency_requests import amend_waiver_reason

    amend_waiver_reason(current_settings(), case_number, agency_code, reason=reason, actor=actor())
    click.echo(f"amended the waiver reason of {agency_code.upper()} for {case_number.upper()}")


@click.group("ncmd")
def ncmd_group() -> None:
    """The National Child Mortality Database must be told within 48 hours of a death."""


@ncmd_group.command("record")
@click.argument("case_number")
@click.option("--at", "at", required=True, type=DATETIME,
              help='When the NCMD was notified, "YYYY-MM-DD HH:MM".')
@today_option
@friendly_errors
def ncmd_record(case_number: str, at: dt.datetime, today) -> None:
    """Record when the NCMD was notified of the death."""
    from cdop.intake.ncmd import record_ncmd_notification

    in_time = record_ncmd_notification(current_settings(), case_number, at=at, today=business_date(today))
    note = "within the deadline" if in_time else "AFTER the deadline"
    click.echo(f"recorded NCMD notification for {case_number.upper()} at {at:%Y-%m-%d %H:%M} ({note})")


@ncmd_group.command("breaches")
@today_option
@friendly_errors
def ncmd_breaches_cmd(today) -> None:
    """List open cases past the NCMD deadline with no notification recorded."""
    from cdop.intake.ncmd import ncmd_breaches
    from cdop.store.db import unit_of_work

    settings = current_settings()
    with unit_of_work(settings) as uow:
        rows = ncmd_breaches(uow.session, business_date(today), settings.policy)
    if not rows:
        click.echo("no NCMD deadline breaches")
    for b in rows:
        click.echo(f"{b.case_number}  deadline {b.deadline:%Y-%m-%d %H:%M} passed {b.days_overdue} day(s) ago")


@click.group("chase")
def chase_group() -> None:
    """Chasing overdue returns (the cdop_chase_overdue_returns DAG does it every working day)."""


@chase_group.command("overdue")
@today_option
@friendly_errors
def chase_overdue(today) -> None:
    """Overdue returns by agency: working days overdue, ladder step, next step."""
    from cdop.store.db import unit_of_work
    from cdop.views.worklists import overdue_requests

    settings = current_settings()
    with unit_of_work(settings) as uow:
        rows = overdue_requests(uow.session, business_date(today), settings.policy)
    if not rows:
        click.echo("no overdue returns")
    agency = None
    for r in rows:
        if r.agency_code != agency:
            agency = r.agency_code
            click.echo(f"{r.agency_name} ({r.agency_code})")
        step = f"step {r.ladder_step}/{r.ladder_steps} {r.last_action} {r.last_chased_on}" if r.ladder_step else "not chased yet"
        nxt = f"next {r.next_chase_on}" if r.next_chase_on else "ladder complete"
        click.echo(f"  {r.case_number:16} due {r.due_on}  {plural(r.working_days_overdue, 'working day'):>16} overdue  {step}  {nxt}")


@click.group("digest")
def digest_group() -> None:
    """The coordinator's daily digest (the cdop_send_daily_digest DAG sends it)."""


@digest_group.command("show")
@today_option
@friendly_errors
def digest_show(today) -> None:
    """Print the digest for a business date (what the email would say)."""
    from cdop.requests.digest import render_text

    text = render_text(current_settings(), business_date(today))
    click.echo(text if text else "nothing to report: no digest would be sent")


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@click.command("simulate")
@click.option("--days", default=90, show_default=True, type=click.IntRange(1, 2000),
              help="Working days to simulate.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First business date (default: today).")
@click.option("--seed", default=2026, show_default=True, help="Seed: the same seed gives the same story.")
@click.option("--arrivals", default=0.3, show_default=True, type=click.FloatRange(0, 3),
              help="Deaths notified per working day, on average.")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the simulated world in this new directory (default: a throwaway one).")
@click.option("--mail", type=click.Choice(["auto", "smtp", "count"]), default="auto", show_default=True,
              help="auto: the configured SMTP server if CDOP_SMTP_HOST is set and listening, else count only.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@friendly_errors
def simulate_cmd(days, start, seed, arrivals, home, mail, quiet) -> None:
    """Watch months of chasing in a minute: demo data, simulated agencies, real services.

    Runs in a database of its own (never the configured CDOP database)."""
    from cdop.config import settings_from_env
    from cdop.dev.simulate import CountingMailer, simulate
    from cdop.mail.mailer import SmtpMailer

    throwaway = home is None
    if throwaway:
        home = Path(tempfile.mkdtemp(prefix="cdop-simulation-"))
    elif home.exists() and any(home.iterdir()):
        raise click.UsageError(f"--home {home} is not empty: give a new directory")
    env = {k: v for k, v in os.environ.items() if k.startswith("CDOP_")}
    env.update({"CDOP_HOME": str(home.resolve()), "CDOP_DEMO": "1", "CDOP_ACTOR": "simulation",
                "CDOP_DATABASE_URL": f"sqlite:///{home.resolve() / 'cdop.sqlite'}"})
    env.pop("CDOP_ENCRYPTION_KEYS", None)  # the simulation's own demo key
    settings = settings_from_env(env)
    smtp = settings.smtp
    use_smtp = mail == "smtp" or (mail == "auto" and os.environ.get("CDOP_SMTP_HOST")
                                  and _listening(smtp.host, smtp.port))
    mailer = SmtpMailer(smtp, settings.policy.mail_from) if use_smtp else CountingMailer()
    first = start.date() if start else today_in_england()
    where = f"SMTP {smtp.host}:{smtp.port}" if use_smtp else "nowhere (counted only)"
    click.echo(f"simulating {days} working days from {first} in {home} (mail goes to {where})")
    try:
        summary = simulate(settings, start=first, working_days=days, seed=seed, mailer=mailer,
                           arrivals_per_day=arrivals, progress=not quiet)
    finally:
        from cdop.store.db import dispose_engines

        dispose_engines()
        if throwaway:
            shutil.rmtree(home, ignore_errors=True)
    for line in summary.lines():
        click.echo(line)
    if not throwaway:
        click.echo(f"\nlook around: CDOP_HOME={home} CDOP_DEMO=1 CDOP_DATABASE_URL= CDOP_ENCRYPTION_KEYS= cdop case list")


COMMANDS = (request_group, ncmd_group, chase_group, digest_group, simulate_cmd)
