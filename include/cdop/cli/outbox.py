"""`cdop outbox`: what the outbox holds, and releasing a message it set aside.

A message is held when it failed for a reason of its own (it could not be composed, the
server refused it with a 5xx, its headers are invalid); it is never retried until a
coordinator releases it here (or on the outbox page) once the cause is fixed."""

from __future__ import annotations

import sys

import click

from cdop.cli.common import EXIT_INPUT, current_settings, friendly_errors
from cdop.store.statuses import OutboxStatus

STATUSES = tuple(s.value for s in OutboxStatus)


@click.group("outbox")
def outbox_group() -> None:
    """The outbox: every outgoing message, and the ones set aside (held)."""


@outbox_group.command("list")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only messages in this state.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@friendly_errors
def outbox_list(status: str | None, limit: int) -> None:
    """Messages, newest first: id, state, kind, business key (case numbers), reason."""
    from cdop.store.db import unit_of_work
    from cdop.views.outbox import outbox_messages

    settings = current_settings()
    with unit_of_work(settings) as uow:
        page = outbox_messages(uow.session, status=status, size=limit)
    if not page.rows:
        click.echo("no message" + (f" {status}" if status else ""))
        return
    for m in page.rows:
        reason = f"  ({m['last_error']})" if m["last_error"] and m["status"] != OutboxStatus.SENT else ""
        click.echo(f"{m['id']:>7}  {m['status']:<9}  {m['kind']:<20}  {m['business_key']}{reason}")
    if page.total > len(page.rows):
        click.echo(f"... {page.total - len(page.rows)} more (use --limit)")


@outbox_group.command("release")
@click.argument("message")
@friendly_errors
def outbox_release(message: str) -> None:
    """Release a held MESSAGE (its id or business key) to be sent again (audited)."""
    from cdop.sending.delivery import NotHeld, release

    settings = current_settings()
    try:
        released = release(settings, message, actor=settings.actor)
    except NotHeld as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_INPUT)
    click.echo(f"released {released.business_key} (message {released.id}): it goes with the next send")


COMMANDS = (outbox_group,)
