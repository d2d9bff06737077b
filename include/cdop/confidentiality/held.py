"""Where the gate holds a statutory output, and the coordinator's way past a false alarm.

A finding in an annual report (either edition, any table or text) or an NCMD export is
*located*: the document, the section or table, the row or line, and the kind -- never
the value. The located findings of a blocked build are kept (`HeldFinding`, the text
only as a fingerprint of its kind and folded words); `cdop gate held` and the
held-findings page list them; the coordinator releases a false alarm with a reason
(audited, the reason encrypted), and the next build of the same output lets every text
of that kind and fingerprint through, in every document of the output. Nothing is
stuck without a path: what the gate stops is either corrected at its source or released.
"""

from __future__ import annotations

import datetime as dt
import html as html_lib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cdop.confidentiality.decisions import fingerprint, fingerprints
from cdop.confidentiality.folding import Finding
from cdop.store.statuses import HeldStatus
from cdop.validation import InputError, Problem

HELD, RELEASED = HeldStatus.HELD, HeldStatus.RELEASED
REASON_MAX = 500


@dataclass(frozen=True)
class PlacedFinding:
    """One finding and where it is. `fingerprint` is the HMAC of its kind and text
    ("" when the gate could not place it: such a finding is corrected, not released)."""

    document: str
    field: str
    kind: str
    severity: str
    fingerprint: str
    section: str | None = None
    row: int | None = None
    line: int | None = None
    column: str | None = None
    case_id: int | None = None

    def where(self) -> str:
        """e.g. 'annual-report-2027.html, section "Recommendations", line 212'."""
        return ", ".join([self.document, *self._place()])

    def place(self) -> str:
        """Where in its document, e.g. 'row 3, column "notes"' ("" if not placed)."""
        return ", ".join(self._place())

    def _place(self) -> list[str]:
        parts = []
        if self.section:
            parts.append(f'section "{self.section}"')
        if self.row is not None:
            parts.append(f"row {self.row}" + (f', column "{self.column}"' if self.column else ""))
        if self.line is not None:
            parts.append(f"line {self.line}")
        return parts

    def describe(self) -> str:
        return f"{self.where()}: {self.field} ({self.severity})"


# ----------------------------------------------------------------------- locating

_HEADING = re.compile(r"(?is)<(h[1-4]|caption)\b[^>]*>(.*?)</\1>")
_TAG = re.compile(r"<[^>]+>")


def _clean(fragment: str) -> str:
    return " ".join(html_lib.unescape(_TAG.sub(" ", fragment)).split())[:160]


def headings(html: str) -> list[tuple[int, str]]:
    """(position, title) of each heading and table caption of an HTML document: the
    report's own titles, written by its template (never a case's text)."""
    return [(m.start(), _clean(m.group(2))) for m in _HEADING.finditer(html) if _clean(m.group(2))]


def _fingerprint(kind: str, text: str) -> str:
    """The finding's fingerprint; "" where no key is configured (a gate run outside the
    system, as in a unit test): such a finding can be corrected, not released -- the
    safe way round."""
    from cdop.errors import ConfigError

    try:
        return fingerprint(kind, text)
    except ConfigError:
        return ""


def _line(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _html_row(text: str, index: int) -> int | None:
    """The row of an HTML table `index` is in (1 = the first row of its body), if any."""
    table = text.rfind("<table", 0, index)
    if table < 0 or text.rfind("</table>", 0, index) > table:
        return None
    body = text.rfind("<tbody", table, index)
    start = body if body >= 0 else table
    rows = len(re.findall(r"(?i)<tr\b", text[start:index]))
    if body < 0:  # no body element: a first row of headings is not a row of the table
        first = re.search(r"(?is)<tr\b(.*?)</tr>", text[table:index])
        if first and "<td" not in first.group(1).lower():
            rows -= 1
    return rows if rows > 0 else None


def locate_text(document: str, text: str, findings: Iterable[Finding], *, html: bool = False,
                titles: list[str] = ()) -> list[PlacedFinding]:
    """Each finding of `text` placed by its section (the last heading before it: from the
    HTML itself, or for the text of a PDF the last of the HTML's `titles` written before
    it), its line, and in an HTML table its row."""
    marks = headings(text) if html else []
    located = []
    for f in findings:
        section = None
        if html:
            before = [title for at, title in marks if at < f.start]
            section = before[-1] if before else None
        elif titles:
            best = -1
            for title in titles:
                at = text.rfind(title, 0, f.start)
                if at > best:
                    best, section = at, title
        located.append(PlacedFinding(document, f.field, f.kind, f.severity,
                               _fingerprint(f.kind, text[f.start:f.end]), section=section,
                               row=_html_row(text, f.start) if html else None, line=_line(text, f.start)))
    return located


def locate_cells(document: str, rows: list[list[str]], findings_of) -> list[PlacedFinding]:
    """Each finding of a table (its first row the header), cell by cell: `findings_of`
    gives a cell's findings. Row 1 is the first row under the header."""
    header = rows[0] if rows else []
    located = []
    for r, row in enumerate(rows[1:], start=1):
        for c, cell in enumerate(row):
            if not cell:
                continue
            for f in findings_of(cell):
                located.append(PlacedFinding(document, f.field, f.kind, f.severity,
                                       _fingerprint(f.kind, cell[f.start:f.end]),
                                       row=r,
                                       column=header[c] if c < len(header) else str(c + 1)))
    return located


def is_released(finding: Finding, text: str, released: frozenset[str]) -> bool:
    return bool(released) and not released.isdisjoint(fingerprints(finding.kind, text[finding.start:finding.end]))


# ------------------------------------------------------------------------ storing

MESSAGE = "message"  # an outgoing email the gate stopped: its output is message:<outbox id>


def output_key(what: str, year: int) -> str:
    return f"{what}:{year}"


def message_output(message_id: int) -> str:
    """The output a held outgoing email's findings are kept under."""
    return output_key(MESSAGE, message_id)


def still_held(session, output: str) -> int:
    """How many places of an output are still held (0: nothing stops it now)."""
    from sqlalchemy import func, select

    from cdop.store.models import HeldFinding

    return session.scalar(select(func.count()).select_from(HeldFinding).where(
        HeldFinding.output == output, HeldFinding.status == HELD)) or 0


def forget_held(session, output: str) -> None:
    """Drop an output's findings still held (it is being tried again: a build or a send
    that is stopped again records them anew). Released ones stay, as the decision."""
    from sqlalchemy import delete

    from cdop.store.models import HeldFinding

    session.execute(delete(HeldFinding).where(HeldFinding.output == output, HeldFinding.status == HELD))


def released_fingerprints(session, output: str) -> frozenset[str]:
    """The fingerprints the coordinator released for an output (e.g. annual_report:2027,
    message:41)."""
    from sqlalchemy import select

    from cdop.store.models import HeldFinding

    return frozenset(session.scalars(select(HeldFinding.fingerprint).where(
        HeldFinding.output == output, HeldFinding.status == RELEASED)))


def released_for_message(session, message) -> frozenset[str]:
    """What the coordinator released on this outgoing email (its own held findings)."""
    return released_fingerprints(session, message_output(message.id)) if message.id is not None else frozenset()


def record_held(uow, output: str, located: Iterable[PlacedFinding], today: dt.date) -> list[int]:
    """Replace the output's findings still held by `located` (the caller commits)."""
    from sqlalchemy import delete

    from cdop.store.models import HeldFinding

    uow.session.execute(delete(HeldFinding).where(HeldFinding.output == output, HeldFinding.status == HELD))
    rows = []
    for f in dict.fromkeys(located):
        row = HeldFinding(output=output, document=f.document[:120], section=(f.section or None) and f.section[:160],
                          row=f.row, line=f.line, column=(f.column or None) and f.column[:80],
                          field=f.field[:60], kind=f.kind[:20], severity=f.severity,
                          fingerprint=f.fingerprint, case_id=f.case_id, status=HELD, found_on=today)
        uow.session.add(row)
        rows.append(row)
    uow.session.flush()
    return [r.id for r in rows]


@dataclass(frozen=True)
class HeldView:
    """One held finding as the CLI and the page show it: no value, no text."""

    id: int
    output: str
    where: str
    field: str
    kind: str
    severity: str
    found_on: dt.date
    releasable: bool
    same_text: int  # how many places of the output hold the same text (released together)
    first: int = 0  # the id of the first place holding the same text: the finding's number


def held_findings(session, output: str | None = None) -> list[HeldView]:
    """The findings holding an output, in the order they were found."""
    from sqlalchemy import select

    from cdop.store.models import HeldFinding

    query = select(HeldFinding).where(HeldFinding.status == HELD).order_by(HeldFinding.output, HeldFinding.id)
    if output is not None:
        query = query.where(HeldFinding.output == output)
    rows = list(session.scalars(query))
    counts: dict[tuple[str, str, str], int] = {}
    firsts: dict[tuple[str, str, str], int] = {}
    for r in rows:
        key = (r.output, r.kind, r.fingerprint or f"unplaced-{r.id}")
        counts[key] = counts.get(key, 0) + 1
        firsts.setdefault(key, r.id)
    out = []
    for r in rows:
        key = (r.output, r.kind, r.fingerprint or f"unplaced-{r.id}")
        place = PlacedFinding(r.document, r.field, r.kind, r.severity, r.fingerprint, r.section, r.row, r.line,
                        r.column)
        out.append(HeldView(r.id, r.output, place.where(), r.field, r.kind, r.severity, r.found_on,
                            bool(r.fingerprint), counts[key], firsts[key]))
    return out


def release(settings, finding_id: int, reason: str, actor: str, *, now: dt.datetime | None = None) -> dict:
    """The coordinator says held finding `finding_id` is a false alarm: it, and every
    other place of the same output holding the same kind and text, is released (audited,
    the reason kept encrypted); the next build of the output lets that text through."""
    from sqlalchemy import select

    from cdop.store.db import unit_of_work
    from cdop.store.models import HeldFinding
    from cdop.validation import RowReader

    reader = RowReader({"reason": reason})
    text = reader.text("reason", required=True, max_len=REASON_MAX, multiline=True)
    if reader.problems:
        raise InputError(reader.problems)
    if text is not None and len(text.strip()) < 5:
        raise InputError([Problem("reason", "say why this is not an identifier (at least a few words)")])
    with unit_of_work(settings, actor) as uow:
        row = uow.session.get(HeldFinding, finding_id)
        if row is None or row.status != HELD:
            raise InputError([Problem("finding", "no finding with that number is held")])
        if not row.fingerprint:
            raise InputError([Problem("finding", "the gate could not place it: correct the text at its source")])
        when = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        same = list(uow.session.scalars(select(HeldFinding).where(
            HeldFinding.output == row.output, HeldFinding.kind == row.kind,
            HeldFinding.fingerprint == row.fingerprint, HeldFinding.status == HELD)))
        for r in same:
            r.status, r.released_by, r.released_at, r.reason = RELEASED, actor, when, text
        uow.session.flush()
        uow.audit("gate_finding_released", "held_finding", row.id, case_id=row.case_id, output=row.output,
                  field=row.field, kind=row.kind, places=len(same), _reason=text)
        uow.commit()
        return {"id": finding_id, "output": row.output, "field": row.field, "places": len(same)}
