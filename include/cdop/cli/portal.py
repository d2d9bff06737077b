"""`cdop portal serve|reopen|show|attachment`: the agencies' return portal (its own small
web service), and the office's side of it: opening a submitted return again, reading what
an agency answered and the files it attached (both audited)."""

from __future__ import annotations

from pathlib import Path

import click

from cdop.cli.common import business_date, current_settings, friendly_errors, today_option


@click.group("portal")
def portal_group() -> None:
    """The agencies' return portal (secure links, a code by email, the reporting form)."""


@portal_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8095, show_default=True)
@click.option("--proxy", "proxy", envvar="CDOP_PORTAL_PROXY", default=None,
              help="Address (or network) of the TLS proxy in front: its X-Forwarded-For is "
                   "trusted, so the per-address limit counts agencies, not the proxy. "
                   "[env: CDOP_PORTAL_PROXY]")
@click.option("--limits", "limits", envvar="CDOP_PORTAL_LIMITS", default="memory://", show_default=True,
              help="Where the rate limits are counted: memory:// (this process), or a Redis URL "
                   "(redis://host:6379/N) when more than one portal process runs. "
                   "[env: CDOP_PORTAL_LIMITS]")
@friendly_errors
def portal_serve(host: str, port: int, proxy: str | None, limits: str) -> None:
    """Serve the portal. Uvicorn's access log is off: a URL holds a link's token, and the
    portal logs each request by its route's template instead."""
    import logging

    import uvicorn

    from cdop.portal.app import create_app, limits_storage
    from cdop.sending.portal import deliver_now
    from cdop.store.db import make_engine

    settings = current_settings()
    limits_storage(limits)  # a bad store is named before the server starts
    make_engine(settings)  # the keys are installed before the first request
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    click.echo(f"portal on http://{host}:{port} (links: {settings.policy.portal.base_url}/r/...)")
    uvicorn.run(create_app(settings, deliver=deliver_now, limits=limits), host=host, port=port, access_log=False, log_config=None,
                server_header=False, proxy_headers=bool(proxy), forwarded_allow_ips=proxy or None)


@portal_group.command("reopen")
@click.argument("case_number")
@click.argument("agency_code")
@today_option
@friendly_errors
def portal_reopen(case_number: str, agency_code: str, today) -> None:
    """Open an agency's submitted return again: a fresh link is emailed to the agency."""
    from cdop.portal.service import reopen
    from cdop.sending.portal import deliver_now

    settings = current_settings()
    reopen(settings, case_number, agency_code, today=business_date(today))
    deliver_now(settings)
    click.echo(f"reopened the {agency_code.upper()} return on {case_number.upper()}: a new link was emailed")


@portal_group.command("show")
@click.argument("case_number")
@click.argument("agency_code")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def portal_show(case_number: str, agency_code: str, as_json: bool) -> None:
    """What an agency answered in the portal, section by section, and its attachments
    (confidential: audited). The summary and chronology: `cdop return chronology`."""
    import json

    from cdop.portal.service import submitted_return

    result = submitted_return(current_settings(), case_number, agency_code)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"portal return: {result['status']}" + (f" ({result['reference']})" if result["reference"] else ""))
    for section in result["sections"]:
        click.echo(f"\n{section['title']}")
        for row in section["answers"]:
            click.echo(f"  {row['question']}: {row['answer'] if row['answer'] is not None else '-'}")
    for a in result["attachments"]:
        click.echo(f"\nattachment {a['number']}: {a['type']}, {a['size_bytes']} bytes")


@portal_group.command("attachment")
@click.argument("case_number")
@click.argument("agency_code")
@click.argument("number", type=click.IntRange(1, 100))
@click.option("--to", "folder", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the file into (owner-only; made if missing).")
@friendly_errors
def portal_attachment(case_number: str, agency_code: str, number: int, folder: Path) -> None:
    """Write an attachment an agency gave in the portal, decrypted, to an owner-only file
    named by case, agency and number (never by the name the agency gave it)."""
    from cdop.portal.service import attachment_content
    from cdop.private_files import private_dir, write_private

    data, suffix = attachment_content(current_settings(), case_number, agency_code, number)
    target = private_dir(folder) / f"{case_number.upper()}-{agency_code.upper()}-attachment-{number}{suffix}"
    write_private(target, data)
    click.echo(f"wrote {target}")


COMMANDS = (portal_group,)
