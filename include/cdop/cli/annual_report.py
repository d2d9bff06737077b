"""`cdop annual-report`: build the annual report for a year ending 31 March by hand."""

from __future__ import annotations

import click

from cdop.cli.common import business_date, current_settings, friendly_errors, today_option


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
    if result.message_id is None:
        click.echo("  email: no recipients configured (annual_report_recipients)")
    elif send:
        from cdop.mail import delivery
        from cdop.mail.mailer import SmtpMailer

        mailer = SmtpMailer(settings.smtp, settings.policy.mail_from)
        try:
            report = delivery.deliver(settings, mailer, kinds=[KIND], ids=[result.message_id])
        finally:
            mailer.close()
        delivery.raise_for_failures(report)
        sent = "sent" if report.sent else "already sent earlier (same content)"
        click.echo(f"  email: {sent} to {', '.join(settings.policy.annual_report_recipients)}")
    else:
        click.echo(f"  email: queued for {', '.join(settings.policy.annual_report_recipients)} "
                   f"(sent by the cdop_annual_report DAG, or now with --send)")
