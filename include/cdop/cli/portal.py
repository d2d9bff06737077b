"""`cdop portal serve|reopen`: the agencies' return portal (its own small web service)
and the office's one action on it, opening a submitted return again."""

from __future__ import annotations

import click

from cdop.cli.common import business_date, current_settings, friendly_errors, today_option


@click.group("portal")
def portal_group() -> None:
    """The agencies' return portal (secure links, a code by email, the reporting form)."""


@portal_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8095, show_default=True)
@friendly_errors
def portal_serve(host: str, port: int) -> None:
    """Serve the portal. Uvicorn's access log is off: a URL holds a link's token, and the
    portal logs each request by its route's template instead."""
    import logging

    import uvicorn

    from cdop.portal.app import create_app
    from cdop.store.db import make_engine

    settings = current_settings()
    make_engine(settings)  # the keys are installed before the first request
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    click.echo(f"portal on http://{host}:{port} (links: {settings.policy.portal.base_url}/r/...)")
    uvicorn.run(create_app(settings), host=host, port=port, access_log=False, log_config=None,
                server_header=False, proxy_headers=False)


@portal_group.command("reopen")
@click.argument("case_number")
@click.argument("agency_code")
@today_option
@friendly_errors
def portal_reopen(case_number: str, agency_code: str, today) -> None:
    """Open an agency's submitted return again: a fresh link is emailed to the agency."""
    from cdop.portal.service import deliver_now, reopen

    settings = current_settings()
    message_id = reopen(settings, case_number, agency_code, today=business_date(today))
    deliver_now(settings, [message_id])
    click.echo(f"reopened the {agency_code.upper()} return on {case_number.upper()}: a new link was emailed")


COMMANDS = (portal_group,)
