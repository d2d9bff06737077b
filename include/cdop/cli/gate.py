"""`cdop gate`: ask the anonymisation gate about a text, and decide its flags."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cdop.cli.common import actor, current_settings, friendly_errors

EXIT_CLEAN, EXIT_STOP, EXIT_FLAGS = 0, 1, 3


def _read(path: str) -> str:
    return sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")


@click.group("gate")
def gate_group() -> None:
    """The anonymisation gate: what it finds in a text, and the coordinator's decisions."""


@gate_group.command("check")
@click.argument("case_number")
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="The text to check (- for standard input).")
@click.option("--document", default="text", show_default=True,
              help="Document kind (case_report, chronology, summary, panel_pack, learning, "
                   "recommendation, annual_report, digest, notice, email, text).")
@friendly_errors
def check(case_number: str, path: str, document: str) -> None:
    """Print what the gate finds in a text for CASE_NUMBER: each finding's number, field
    or kind, line:column and severity, never the value.

    Exit codes: 0 the text is clean; 1 at least one finding stops the release; 3 only
    flags (names nobody recorded, for the coordinator to decide with `cdop gate decide`);
    2 bad input (unknown case, document kind or file)."""
    from cdop.confidentiality.findings import findings_in_context

    found = findings_in_context(current_settings(), case_number, _read(path), document)
    for f in found:
        click.echo(f"{f.number:>3}  {f.line}:{f.column}  {f.severity:<4}  {f.field}")
    stops = sum(f.severity == "stop" for f in found)
    flags = len(found) - stops
    click.echo(f"{stops} finding(s) that stop the release, {flags} flag(s) to decide")
    sys.exit(EXIT_STOP if stops else EXIT_FLAGS if flags else EXIT_CLEAN)


@gate_group.command("decide")
@click.argument("case_number")
@click.option("--file", "path", required=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="The text the flag was found in.")
@click.option("--document", default="text", show_default=True, help="Document kind, as for check.")
@click.option("--finding", "number", type=int, required=True, help="The flag's number, as `check` printed it.")
@click.option("--not-identifier", "decision", flag_value="not_identifier",
              help="It names nobody: do not flag it again in this case's document.")
@click.option("--redact", "decision", flag_value="redact", help="It is an identifier: it will be redacted.")
@friendly_errors
def decide(case_number: str, path: str, document: str, number: int, decision: str | None) -> None:
    """Record the coordinator's decision on one flag (audited; the text is kept only as
    a fingerprint)."""
    from cdop.confidentiality.findings import decide as record
    from cdop.validation import InputError, Problem

    if decision is None:
        raise InputError([Problem("decision", "give --not-identifier or --redact")])
    result = record(current_settings(), case_number, _read(path), document, number, decision, actor())
    click.echo(f"{result['case_number']} {result['document']}: finding {result['finding']} "
               f"({result['field']}) recorded as {result['decision']}")


COMMANDS = (gate_group,)
