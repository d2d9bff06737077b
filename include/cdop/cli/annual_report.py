"""`cdop annual-report`: build the annual report for a year ending 31 March by hand."""

from __future__ import annotations

import click

from cdop.cli.common import business_date, current_settings, friendly_errors, today_option
from cdop.store.statuses import OutboxStatus


@click.group("annual-report")
def annual_report() -> None:
    """The annual report (year ending 31 March)."""


@annual_report.command("build")
@click.option("--year", type=int, required=True,
              help="Year ending 31 March, e.g. 2026 for April 2025 to March 2026.")
@click.option("--send", is_flag=True, help="Send the queued email now (else the DAG sends it).")
@today_option
@friendly_errors
def build(year: int, send: bool, today) -> None:
    """Build, gate-check and release the report; print where the outputs are."""
    from cdop.annual_report import KIND, build_annual_report
    from cdop.confidentiality.year_gate import ReportBlocked

    settings = current_settings()
    try:
        result = build_annual_report(settings, year, today=business_date(today))
    except ReportBlocked as exc:
        raise click.ClickException(str(exc)) from None
    state = "new version" if result.new_version else "unchanged since the last build"
    click.echo(f"annual report {year} version {result.version} ({state})")
    click.echo(f"  directory: {result.directory}")
    for name in result.files:
        click.echo(f"  {result.directory / name}")
    policy = settings.policy
    recipients = {"public": policy.annual_report_recipients,
                  "confidential": policy.annual_report.confidential_recipients}
    ids = {"public": result.message_id, "confidential": result.confidential_message_id}
    sent_now: set[str] = set()
    if send and any(ids[e] is not None and result.email.get(e) in ("queued", "pending")
                    for e in ids):
        from cdop.mail.mailer import SmtpMailer
        from cdop.sending import delivery

        wanted = [ids[e] for e in ids if ids[e] is not None and result.email.get(e) in ("queued", "pending")]
        mailer = SmtpMailer(settings.smtp, policy.mail_from)
        try:
            report = delivery.deliver(settings, mailer, kinds=[KIND], ids=wanted)
        finally:
            mailer.close()
        delivery.raise_for_failures(report)
        sent_now = set(_sent_editions(settings, ids))
    for edition in ("public", "confidential"):
        click.echo(f"  {edition} edition email: {_email_line(result.email.get(edition), edition in sent_now, recipients[edition])}")


def _sent_editions(settings, ids: dict[str, int | None]) -> list[str]:
    """The editions whose message the outbox now records as sent."""
    from cdop.store.db import unit_of_work
    from cdop.store.models import OutboxMessage

    with unit_of_work(settings) as uow:
        return [e for e, i in ids.items()
                if i is not None and uow.session.get(OutboxMessage, i).status == OutboxStatus.SENT]


def _email_line(state: str | None, sent_now: bool, recipients) -> str:
    """What happened to one edition's email, as it is (never "queued" when nothing was)."""
    to = ", ".join(recipients)
    if sent_now:
        return f"sent now to {to}"
    return {
        "queued": f"queued for {to} (sent by the cdop_annual_report DAG, or now with --send)",
        "pending": ("unchanged content: already queued by an earlier build, not sent yet "
                    "(nothing new queued)"),
        "sent": "unchanged content: already sent earlier (nothing queued)",
        "cancelled": "unchanged content: its message was cancelled earlier (nothing queued)",
        "no recipients": "not sent: no recipients configured",
        None: "not sent: no recipients configured",
    }.get(state, f"unchanged content: the earlier message is {state} (nothing queued)")
