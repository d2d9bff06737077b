"""`cdop`: the coordinator's command-line tool.

Every command validates first and writes all-or-nothing; errors name the field and the
row, never the value. Commands that act "today" take --today (the business date), which
defaults to today in England. Each area's commands live in a module of
their own (admin, intake, requests, returns, reports, panel, analysis,
annual_report, outbox, gate, portal) and are named here, explicitly, in `COMMANDS`.

The rule that keeps start-up cheap (a coordinator calls `cdop gate check` for every text
they check): a command costs only what it uses.
- `cdop --help` lists `COMMANDS` from the table below: no area module is imported;
- `cdop AREA ...` imports that area's module alone (and the modules that add commands
  into its group, `EXTENSIONS`);
- cli modules import their service, SQLAlchemy, the settings and the gate lazily, inside
  the command function that uses them (never at module level): so an area's `--help`
  and a refusal of its arguments cost no more than click.
A unit test holds the table equal to the commands themselves.
"""

from __future__ import annotations

import importlib
import sys

import click

# name: (module under cdop.cli, attribute, its help's first sentence -- what `cdop --help`
# lists without importing the module).
COMMANDS: dict[str, tuple[str, str, str]] = {
    "agencies": ("intake", "agencies", "The agency directory."),
    "analysis": ("analysis", "analysis_group", "The panel's analysis of a case (the analysis form)."),
    "annual-report": ("annual_report", "annual_report", "The annual report (year ending 31 March)."),
    "case": ("intake", "case", "Look at cases."),
    "chase": ("requests", "chase_group",
              "Chasing overdue returns (the cdop_chase_overdue_returns DAG does it every working day)."),
    "db": ("admin", "db", "The CDOP database."),
    "demo": ("admin", "demo", "Demo data (fictional)."),
    "dev-cert": ("admin", "dev_cert",
                 "Make a self-signed certificate for a mail catcher (trying the stack out only)."),
    "digest": ("requests", "digest_group", "The coordinator's daily digest (the cdop_send_daily_digest DAG sends it)."),
    "files": ("admin", "files", "The encrypted files kept for cases (returned forms, attachments, case reports), "
                                "in the store CDOP_FILE_STORE names: CDOP_HOME, the database or an object store."),
    "gate": ("gate", "gate_group",
             "The anonymisation gate: what it finds in a text, and the coordinator's decisions."),
    "investigation": ("intake", "investigation",
                      "Parallel processes: inquest, police investigation, CSPR, CDRM and others."),
    "keys": ("admin", "keys", "Encryption keys for identifiable fields."),
    "ncmd": ("requests", "ncmd_group",
             "The National Child Mortality Database must be told within 48 hours of a death."),
    "notify": ("intake", "notify", "Register a child death notification (or many, from --file)."),
    "outbox": ("outbox", "outbox_group", "The outbox: every outgoing message, and the ones set aside (held)."),
    "panel": ("panel", "panel_group", "Panel meetings, members, allocation and papers."),
    "portal": ("portal", "portal_group",
               "The agencies' return portal (secure links, a code by email, the reporting form)."),
    "recommendation": ("analysis", "recommendation_group", "Panel recommendations and their progress."),
    "report": ("reports", "report_group", "The anonymised case report and the coordinator's check."),
    "request": ("requests", "request_group",
                "Agency requests: waive a return that is not needed, or correct why it was."),
    "return": ("intake", "return_", "Agency returns."),
    "simulate": ("requests", "simulate_cmd",
                 "Watch months of chasing in a minute: demo data, simulated agencies, real services."),
    "smtp-sink": ("admin", "smtp_sink_cmd", "Run the local SMTP server that keeps every message as an .eml file."),
}

# Commands another module adds into a group when it loads: group name -> (module, attribute),
# the attribute a command or a tuple of them.
EXTENSIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "ncmd": (("analysis", "ncmd_export"),),
    "return": (("returns", "RETURN_COMMANDS"),),
    "case": (("returns", "case_family"),),
}


def load_command(name: str) -> click.Command:
    """The command `name` of `COMMANDS`, with what `EXTENSIONS` adds into it (imported now)."""
    module, attribute, _ = COMMANDS[name]
    command = getattr(importlib.import_module(f"cdop.cli.{module}"), attribute)
    for other, attr in EXTENSIONS.get(name, ()):
        added = getattr(importlib.import_module(f"cdop.cli.{other}"), attr)
        for sub in added if isinstance(added, tuple) else (added,):
            if isinstance(command, click.Group) and sub.name not in command.commands:
                command.add_command(sub)
    _whole_sentences(command)
    return command


def _first_sentence(text: str) -> str:
    first = " ".join(text.split("\n\n")[0].split())
    end = first.find(". ")
    return first if end < 0 else first[: end + 1]


def _whole_sentences(command: click.Command) -> None:
    """A group's list of commands shows each one's first sentence whole (wrapped), not
    cut at 45 characters mid-sentence as click does by default."""
    if command.help and not command.short_help:
        command.short_help = _first_sentence(command.help)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _whole_sentences(sub)


class CdopGroup(click.Group):
    """Each area's commands are loaded on first use (`load_command`), the list of them is
    `COMMANDS` (see the rule at the top of this module).

    click's own refusals quote what was typed ("'Łukasz' is not a valid integer",
    "File '/home/…/Quennell.csv' does not exist", "unexpected extra argument (…)"); the
    CDOP's name the parameter only, like every other refusal, and exit 2."""

    def get_command(self, ctx, cmd_name):
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            self.add_command(load_command(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def list_commands(self, ctx):
        return sorted(set(COMMANDS) | set(self.commands))

    def format_commands(self, ctx, formatter):
        """`cdop --help`'s list, from `COMMANDS`: no area is imported to print it."""
        rows = [(name, self.commands[name].get_short_help_str() if name in self.commands else COMMANDS[name][2])
                for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

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
