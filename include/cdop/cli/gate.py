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
        click.echo(f"{f.number:>3}  {f.line}:{f.column}  {f.severity:<4}  {f.field}"
                   + (f"  ({f.message})" if f.message else ""))
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


# ------------------------------------------------------------ held for flags
# An annual report, or an outgoing email composed from free text, that holds a name
# nobody recorded is held: the report is recorded "blocked", the message "held" in the
# outbox. These commands list those flags in context and record the coordinator's
# decisions in the same store as `decide` (per case and document kind, audited).

def _held_messages(settings, uow):
    """(message, document kind or None, flags) for each outbox message held for flags;
    kind None and no flags: it composes cleanly now (ready to be released)."""
    from cdop.confidentiality.documents import FlagsHeld
    from cdop.sending.delivery import held_messages
    from cdop.sending.kinds import REGISTRY

    out = []
    for message in held_messages(uow.session):
        if "FlagsHeld" not in (message.last_error or "") or message.kind not in REGISTRY:
            continue
        try:
            REGISTRY[message.kind].compose(uow.session, message, settings)
        except FlagsHeld as held:
            out.append((message, held.kind, held.flags))
        except Exception:  # noqa: BLE001 -- held for another reason now: `cdop outbox` shows it
            continue
        else:
            out.append((message, None, []))
    return out


def _blocked_messages(settings, uow):
    """(message, located findings) for each outbox message the gate stopped (not a flag)
    whose findings were not kept when it was held (held before they were): composed again
    to place each finding (part, line, field; never the value)."""
    from cdop.confidentiality.documents import EmailBlocked
    from cdop.confidentiality.held import message_output, still_held
    from cdop.sending.delivery import held_messages
    from cdop.sending.kinds import REGISTRY

    out = []
    for message in held_messages(uow.session):
        if "EmailBlocked" not in (message.last_error or "") or message.kind not in REGISTRY:
            continue
        if still_held(uow.session, message_output(message.id)):
            continue  # listed with the held findings, each releasable
        try:
            REGISTRY[message.kind].compose(uow.session, message, settings)
        except EmailBlocked as blocked:
            out.append((message, blocked.located))
        except Exception:  # noqa: BLE001 -- held for another reason now: `cdop outbox` shows it
            continue
    return out


def _held_years(uow) -> list[int]:
    from sqlalchemy import select

    from cdop.store.models import AnnualReport
    from cdop.store.statuses import AnnualReportStatus

    rows = uow.session.execute(select(AnnualReport.year, AnnualReport.status, AnnualReport.gate_findings)
                               .order_by(AnnualReport.year, AnnualReport.id)).all()
    latest = {year: (status, findings) for year, status, findings in rows}
    return [y for y, (status, findings) in latest.items()
            if status == AnnualReportStatus.BLOCKED and any(str(f).endswith("(flag)") for f in findings or [])]


def _report_flags(settings, uow, year: int):
    from cdop.annual_report.content import build_content
    from cdop.annual_report.data import extract
    from cdop.confidentiality.year_gate import report_flags, report_sources

    data = extract(uow.session, year)
    content = build_content(data, area_name=settings.policy.area_name,
                            threshold=settings.policy.suppression_threshold)
    return report_flags(settings, uow.session, report_sources(data, content))


def _line(number: int, where: str, text: str, finding) -> str:
    from cdop.confidentiality.findings import _line_col, mask

    line, col = _line_col(text, finding.start)
    return f"{number:>3}  {where:<32} {line}:{col:<4} {finding.field:<22} {mask(text, finding)}"


@gate_group.command("held")
@friendly_errors
def held() -> None:
    """List what the gate holds: the findings that stop an annual report, an NCMD
    export or an outgoing email, each placed (document, section or table, row or line; release a false alarm
    with `cdop gate release ID --reason`); flags (names nobody recorded) in annual
    reports and outgoing emails, numbered, in context with the flagged words masked
    (decide each with `cdop gate resolve`); and outgoing emails the gate stopped, each
    finding placed.

    Exit codes: 0 nothing is held; 3 something is."""
    from cdop.confidentiality.held import held_findings
    from cdop.store.db import unit_of_work
    from cdop.store.models import Case

    settings = current_settings()
    count = 0
    with unit_of_work(settings) as uow:
        located = held_findings(uow.session)
        output = None
        for f in located:
            if f.output != output:
                output = f.output
                then = ("the email then goes back to the outbox" if output.startswith("message:")
                        else "then build it again")
                click.echo(f"{output}  held by the gate: release a false alarm with "
                           f"`cdop gate release ID --reason \"...\"`, {then}")
            also = f" (+{f.same_text - 1} place(s), same text)" if f.same_text > 1 else ""
            how = "" if f.releasable else "  [not placed: correct it at its source]"
            click.echo(f"  {f.id:>5}  {f.severity:<4}  {f.field:<24} {f.where}{also}{how}")
        count += len(located)
        for year in _held_years(uow):
            flags = _report_flags(settings, uow, year)
            click.echo(f"annual-report:{year}  ({len(flags)} flag(s); rebuild once decided)")
            for n, f in enumerate(flags, start=1):
                click.echo(_line(n, f"{f.case_number} {f.part}", f.text, f.finding))
            count += len(flags)
        for message, _kind, flags in _held_messages(settings, uow):
            number = uow.session.get(Case, message.case_id).case_number if message.case_id else None
            case = f", case {number}" if number else ""
            state = f"{len(flags)} flag(s)" if flags else "no flag left: release it with `cdop gate resolve`"
            click.echo(f"message:{message.id}  {message.kind}{case}  ({state})")
            for n, f in enumerate(flags, start=1):
                click.echo(_line(n, f"free text {f.part + 1}", f.text, f.finding))
            count += len(flags) or 1
        for message, located in _blocked_messages(settings, uow):
            number = uow.session.get(Case, message.case_id).case_number if message.case_id else None
            case = f", case {number}" if number else ""
            click.echo(f"message:{message.id}  {message.kind}{case}  (stopped by the gate: correct the text at "
                       f"its source, then `cdop outbox release {message.id}`)")
            for f in located:
                click.echo(f"         {f.severity:<4}  {f.field:<24} {f.where()}")
            count += 1
    if not count:
        click.echo("nothing is held by the gate")
    sys.exit(EXIT_FLAGS if count else EXIT_CLEAN)


@gate_group.command("resolve")
@click.argument("ref")
@click.option("--finding", "number", type=int, help="The flag's number, as `held` printed it.")
@click.option("--not-identifier", "decision", flag_value="not_identifier",
              help="It names nobody: do not flag it again in this case's document.")
@click.option("--redact", "decision", flag_value="redact",
              help="It is an identifier: the text must be corrected at its source.")
@friendly_errors
def resolve(ref: str, number: int | None, decision: str | None) -> None:
    """Decide one flag of what is held: REF is annual-report:YEAR or message:ID, as
    `cdop gate held` printed it. A message whose flags are all marked "not an identifier"
    goes back to the outbox (audited); a report is built again by `cdop annual-report
    build` or its DAG."""
    from cdop.confidentiality.findings import record_decision
    from cdop.sending.delivery import release
    from cdop.store.db import unit_of_work
    from cdop.validation import InputError, Problem

    what, _, key = ref.partition(":")
    if what not in ("annual-report", "message") or not key.isdigit():
        raise InputError([Problem("ref", "must be annual-report:YEAR or message:ID, as `cdop gate held` prints")])
    settings = current_settings()
    who = actor()
    released = False
    with unit_of_work(settings, who) as uow:
        if what == "annual-report":
            if int(key) not in _held_years(uow):
                raise InputError([Problem("ref", "that annual report is not held for flags")])
            flags = [(f.case_id, "annual_report", f.text, f.finding) for f in _report_flags(settings, uow, int(key))]
        else:
            found = [(m, k, fl) for m, k, fl in _held_messages(settings, uow) if m.id == int(key)]
            if not found:
                raise InputError([Problem("ref", "no message with that id is held for flags")])
            message, kind, message_flags = found[0]
            flags = [(message.case_id, kind, f.text, f.finding) for f in message_flags]
        if flags:
            if decision is None or number is None:
                raise InputError([Problem("decision", "give --finding N and --not-identifier or --redact")])
            if not 1 <= number <= len(flags):
                raise InputError([Problem("finding", f"must be between 1 and {len(flags)}")])
            case_id, document, text, finding = flags[number - 1]
            if case_id is None:
                raise InputError([Problem("ref", "this message names no case: correct its text instead")])
            record_decision(uow, case_id, document, finding, text, decision, who)
            uow.commit()
            click.echo(f"{ref}: finding {number} ({finding.field}) recorded as {decision}")
        if what == "message":
            remaining = [m for m, k, fl in _held_messages(settings, uow) if m.id == int(key) and not fl]
            released = bool(remaining)
    if released:
        release(settings, key, actor=who)
        click.echo(f"{ref}: no flag left; back in the outbox to be sent")
    elif what == "annual-report":
        click.echo(f"{ref}: build it again once every flag is decided (cdop annual-report build --year {key})")


@gate_group.command("release")
@click.argument("finding_id", type=int)
@click.option("--reason", required=True, help="Why it is not an identifier (kept encrypted, audited).")
@friendly_errors
def release_finding(finding_id: int, reason: str) -> None:
    """Release a false alarm holding a statutory output (an annual report, an NCMD
    export) or an outgoing email: FINDING_ID as `cdop gate held` printed it. Every place
    of that output holding the same kind and text is released with it; build the output
    again to publish it. An email with nothing left held goes back to the outbox."""
    from cdop.sending.delivery import release_held_finding

    done = release_held_finding(current_settings(), finding_id, reason, actor=actor())
    what, _, year = done["output"].partition(":")
    if what == "message":
        again = ("back in the outbox, sent at the next delivery run" if done["message"]
                 else "other findings still hold it (cdop gate held)")
    else:
        again = {"annual_report": f"cdop annual-report build --year {year}",
                 "ncmd_export": f"cdop ncmd export --year {year}"}.get(what, "build it again")
    click.echo(f"finding {done['id']} ({done['field']}) released in {done['output']} "
               f"({done['places']} place(s)); now: {again}")


@gate_group.command("prepare")
def prepare() -> None:
    """Build the gate's word lists and name tables in the cache now (`make install` does):
    otherwise the first check on a machine builds them, which takes a minute or more.
    They come from installed packages only; nothing is downloaded."""
    from cdop.confidentiality import words
    from cdop.confidentiality.derived import _nickname_table
    from cdop.confidentiality.layers.name_lists import name_ranks
    from cdop.confidentiality.layers.terms import known_areas

    words.given_names(), words.english_words(), words.spelling_words(), _nickname_table(), known_areas()
    given, surnames = name_ranks()
    click.echo(f"the gate's lists are ready in {words.cache_dir()} "
               f"({len(given):,} given names, {len(surnames):,} surnames)")


COMMANDS = (gate_group,)
