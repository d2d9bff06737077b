"""`cdop`: the coordinator's command-line tool.

Every command validates first and writes all-or-nothing; errors name the field and the
row, never the value. Commands that act "today" take --today (the business date), which
defaults to today in England. Each area's commands live in a module of
their own (admin, intake, requests, returns, reports, panel, analysis,
annual_report, outbox, gate, portal) and are added here, explicitly.
"""

from __future__ import annotations

import importlib
import sys

import click

# Commands a call can load alone, without importing every area's services: `cdop gate
# check` is called for each text a coordinator checks, and start-up is most of its cost.
_ALONE = {"gate": ("cdop.cli.gate", "gate_group")}


def _register_all(group: click.Group) -> None:
    """Add every area's commands (once): imported here, on first use, not at import."""
    if getattr(group, "_all_registered", False):
        return
    from cdop.cli import (
        admin,
        analysis,
        gate,
        intake,
        outbox,
        panel,
        portal,
        reports,
        requests,
        returns,
    )
    from cdop.cli.annual_report import annual_report

    for command in (*admin.COMMANDS, *intake.COMMANDS, *requests.COMMANDS, reports.report_group,
                    panel.panel_group, analysis.analysis_group, analysis.recommendation_group,
                    annual_report, *outbox.COMMANDS, *gate.COMMANDS, *portal.COMMANDS):
        group.add_command(command)
    requests.ncmd_group.add_command(analysis.ncmd_export)
    for command in returns.RETURN_COMMANDS:
        intake.return_.add_command(command)
    intake.case.add_command(returns.case_family)
    _whole_sentences(group)
    group._all_registered = True  # type: ignore[attr-defined]


def _first_sentence(text: str) -> str:
    first = " ".join(text.split("\n\n")[0].split())
    end = first.find(". ")
    return first if end < 0 else first[: end + 1]


def _whole_sentences(group: click.Group) -> None:
    """A group's list of commands shows each one's first sentence whole (wrapped), not
    cut at 45 characters mid-sentence as click does by default."""
    for command in group.commands.values():
        if command.help and not command.short_help:
            command.short_help = _first_sentence(command.help)
        if isinstance(command, click.Group):
            _whole_sentences(command)


class CdopGroup(click.Group):
    """Every area's commands are registered on first use (`_register_all`); `cdop gate`
    loads alone.

    click's own refusals quote what was typed ("'Łukasz' is not a valid integer",
    "File '/home/…/Quennell.csv' does not exist", "unexpected extra argument (…)"); the
    CDOP's name the parameter only, like every other refusal, and exit 2."""

    def get_command(self, ctx, cmd_name):
        if cmd_name in _ALONE and cmd_name not in self.commands:
            module, name = _ALONE[cmd_name]
            command = getattr(importlib.import_module(module), name)
            _whole_sentences(command)
            self.add_command(command)
        if cmd_name not in self.commands:
            _register_all(self)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        _register_all(self)
        return super().list_commands(ctx)

    def main(self, args=None, prog_name=None, **extra):
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.MissingParameter as exc:
            self._refuse(exc, f"{self._name(exc)}: is required")
        except click.BadParameter as exc:
            # A refusal of the CDOP's own parameter types says why (never the value).
            reason = getattr(exc, "cdop_reason", None) or "is not valid (see --help)"
            self._refuse(exc, f"{self._name(exc)}: {reason}")
        except click.NoSuchOption as exc:
            self._refuse(exc, "an option given is not one of this command's (see --help)")
        except click.UsageError as exc:
            own = not str(exc.message).startswith(("Got unexpected extra argument", "No such command"))
            self._refuse(exc, exc.message if own else "the command's words are not right (see --help)")
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        except click.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)

    @staticmethod
    def _name(exc: click.BadParameter) -> str:
        if isinstance(exc.param, click.Option):
            return max(exc.param.opts, key=len)  # as typed: --file, not file_
        return exc.param.human_readable_name if exc.param is not None else "a parameter"

    @staticmethod
    def _refuse(exc: click.UsageError, text: str) -> None:
        if exc.ctx is not None:
            click.echo(exc.ctx.get_usage(), err=True)
        click.echo(f"error: {text}", err=True)
        sys.exit(2)


@click.group(cls=CdopGroup)
def main() -> None:
    """Child Death Overview Panel case-review workflow."""


if __name__ == "__main__":
    main()
