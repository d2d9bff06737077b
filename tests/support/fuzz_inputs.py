"""Generated bad (and good) input for the `cdop` commands that take input from outside,
shared by tests/integration/test_input_fuzz.py (hypothesis) and benchmarks/fuzz_inputs.py
(a larger seeded set). Each input carries a marker, a string that must never appear in
what the command prints; `run_input` runs it in-process and reports what happened.

The categories are those issue 11 found: years 9982-9999, Latin-1 and UTF-16 files, JSON
with a byte-order mark, invalid and empty JSON, 1e400 and NaN, deep nesting, fields over
128 KiB, control and bidirectional characters, JSON objects where text is expected,
carriage returns in agency names, unknown agency codes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

TARGETS = ("notify_flags", "notify_file", "agencies", "return_content", "family", "analysis")
FILE = "{FILE}"  # placeholder in args for the path of the input's file

CHILD = {
    "forenames": "Łukasz", "surname": "O’Neill-Weiß", "date_of_birth": "2024-02-10",
    "date_of_death": "2026-11-20", "nhs_number": "9434765919", "sex": "male",
    "place_of_death": "hospital", "expected": "no", "postcode": "DT3 4AB",
    "address": "7 Larkspur Rise\nDemotown", "agencies": "RUH,GPHC", "investigations": "post_mortem",
    "circumstances": "sudden_unexpected", "notifier_name": "Dr Grace May", "notifier_role": "Paediatrician",
    "notifier_email": "grace.may@nhs.net",
}
FORENAMES = ("Will", "Grace", "Hope", "May", "Søren", "Łukasz", "Zoë", "Anne-Marie")
AGENCY = {"code": "FZ1", "name": "Fuzzing Trust", "type": "hospital_trust", "request_email": "fz1@nhs.net",
          "escalation_email": "", "secure": "", "phone": "01234 100100"}
TODAY = "2026-11-26"


def marker_for(n: int) -> str:
    """A string that reads the same upper- or lower-cased and appears nowhere by chance."""
    return f"QZV{n:05d}XK"


# ------------------------------------------------------------------------ nasty values


def nasty_texts(m: str) -> list[tuple[str, object]]:
    """(category, value) pairs, each holding the marker where it can."""
    return [
        ("plain", f"Ada{m}"),
        ("nul", f"{m}\x00end"),
        ("escape", f"\x1b[31m{m}"),
        ("bell", f"{m}\x07"),
        ("crlf", f"{m}\r\nBcc: someone@example.org"),
        ("cr", f"Trust{m}\rX-Header: 1"),
        ("lf", f"line one {m}\nline two"),
        ("bidi", f"{m}\u202egnp.exe"),
        ("isolate", f"\u2066{m}\u2069"),
        ("zero_width", f"{m}\u200b"),
        ("bom_inside", f"{m}\ufeff"),
        ("c1", f"{m}\x85\x9b"),
        ("del", f"{m}\x7f"),
        ("line_separator", f"{m}\u2028"),
        ("long", m + "x" * 5000),
        ("tab", f"{m}\tcol"),
        ("hard_name", f"O’Neill {m}"),
        ("combining", f"Se\u0301verine{m}"),
        ("spaces", f"   {m}   "),
    ]


def nasty_json_values(m: str) -> list[tuple[str, object]]:
    return [
        ("json_object", {"RUH": m}),
        ("json_list", [m, {"x": m}]),
        ("json_true", True),
        ("json_number", 12.5),
        ("json_huge", 1e308),
        ("json_int", 10**30),
        ("json_negative", -1),
        ("json_null", None),
        ("json_empty_object", {}),
    ]


def nasty_dates(m: str, rng: random.Random) -> list[tuple[str, object]]:
    year = rng.randint(9982, 9999)
    return [
        ("year_9999", f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"),
        ("year_1", "0001-01-01"),
        ("year_1899", "1899-12-31"),
        ("feb_30", "2026-02-30"),
        ("marker_date", f"2026-01-{m}"),
        ("uk_form", "20/11/2026"),
        ("compact", "20261120"),
        ("future", "2099-01-01"),
        ("bank_holiday", "2026-08-31"),
    ]


def pick_value(rng: random.Random, m: str, *, json_ok: bool, date: bool = False) -> tuple[str, object]:
    pools = [nasty_texts(m)]
    if json_ok:
        pools.append(nasty_json_values(m))
    if date:
        pools += [nasty_dates(m, rng)] * 2
    return rng.choice(rng.choice(pools))


# ------------------------------------------------------------------------------- files


def csv_bytes(rows: list[dict], encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    header = list(dict.fromkeys(k for r in rows for k in r))
    writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (v if isinstance(v, str) else json.dumps(v)) for k, v in row.items()})
    return out.getvalue().encode(encoding, errors="replace")


def json_bytes(data: object, *, bom: bool = False) -> bytes:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return (b"\xef\xbb\xbf" if bom else b"") + body


def broken_file(rng: random.Random, m: str, *, suffix: str, rows: list[dict]) -> tuple[str, str, bytes]:
    """(category, suffix, content) for a file that is wrong as a whole."""
    kind = rng.choice(["latin1", "utf16", "bom_json", "invalid_json", "empty", "blank", "deep", "deep_shallow",
                       "inf_json", "nan_json", "huge_int_json", "big_field", "nul_csv", "extra_cells",
                       "truncated_json", "scalar_json"])
    latin = [{**r, **{k: f"Weiß{m}" for k in list(r)[:1]}} for r in rows]
    if kind == "latin1":
        return kind, suffix, (csv_bytes(latin, "latin-1") if suffix == ".csv"
                              else json.dumps(latin, ensure_ascii=False).encode("latin-1", errors="replace"))
    if kind == "utf16":
        return kind, suffix, (csv_bytes(latin, "utf-16") if suffix == ".csv"
                              else json.dumps(latin, ensure_ascii=False).encode("utf-16"))
    if kind == "bom_json":
        return kind, ".json", json_bytes(rows, bom=True)
    if kind == "invalid_json":
        return kind, ".json", ("[{\"forenames\": \"" + m + "\",}]").encode()
    if kind == "truncated_json":
        return kind, ".json", json_bytes(rows)[:-3]
    if kind == "empty":
        return kind, suffix, b""
    if kind == "blank":
        return kind, suffix, b"  \n\n "
    if kind == "deep":
        depth = rng.choice([5000, 100_000])
        return kind, ".json", b"[" * depth + json.dumps(m).encode() + b"]" * depth
    if kind == "deep_shallow":
        return kind, ".json", b"[" * 40 + json.dumps(m).encode() + b"]" * 40
    if kind == "inf_json":
        return kind, ".json", json.dumps([{**rows[0], "deprivation_decile": "__N__", "forenames": "__N__"}]
                                         ).replace('"__N__"', "1e400").encode()
    if kind == "nan_json":
        return kind, ".json", json.dumps([{**rows[0], "deprivation_decile": "__N__"}]).replace('"__N__"', "NaN").encode()
    if kind == "huge_int_json":
        return kind, ".json", json.dumps([rows[0]]).replace('"2024-', '9' * 5000 + ', "x": "2024-', 1).encode()
    if kind == "big_field":
        big = [{**rows[0], list(rows[0])[0]: m + "b" * (128 * 1024 + 10)}]
        return kind, ".csv", csv_bytes(big)
    if kind == "nul_csv":
        return kind, ".csv", csv_bytes(rows).replace(b"\n", b"\n\x00" + m.encode(), 1)
    if kind == "extra_cells":
        return kind, ".csv", csv_bytes(rows) + f"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r,s,t,u,{m}\n".encode()
    return kind, ".json", json.dumps(m).encode()  # scalar_json


# ------------------------------------------------------------------------------ inputs


@dataclass
class Input:
    target: str
    category: str
    marker: str
    args: list[str]
    file: tuple[str, bytes] | None = None  # (suffix, content)
    context: dict = field(default_factory=dict)


def _mutate(rng: random.Random, base: dict, m: str, *, keys: list[str], dates: set[str], json_ok: bool,
            count: int | None = None) -> tuple[dict, str]:
    row = dict(base)
    categories = []
    for key in rng.sample(keys, count or rng.randint(1, 3)):
        category, value = pick_value(rng, m, json_ok=json_ok, date=key in dates)
        row[key] = value
        categories.append(category)
    return row, "+".join(categories)


def _notification(rng: random.Random, m: str, *, json_ok: bool) -> tuple[dict, str]:
    base = {**CHILD, "forenames": rng.choice(FORENAMES)}
    if rng.random() < 0.5:
        base.pop("nhs_number")
    dice = rng.random()
    if dice < 0.12:
        return base, "valid"
    if dice < 0.25:
        codes = ["RUH", f"NOPE{m}", f"RUH\r{m}"] if rng.random() < 0.5 else ["RUH", {"RUH": 1}]
        base["agencies"] = codes if json_ok else ";".join(str(c) for c in codes)
        return base, "unknown_agency"
    return _mutate(rng, base, m, keys=list(CHILD) + ["deprivation_decile", "notified_on", "ethnicity"],
                   dates={"date_of_birth", "date_of_death", "notified_on"}, json_ok=json_ok)


def make_input(target: str, rng: random.Random, n: int, case_number: str = "CDOP-2026-0001") -> Input:
    m = marker_for(n)
    if target == "notify_flags":
        row, category = _notification(rng, m, json_ok=False)
        args = ["notify", "--today", TODAY]
        for key, value in row.items():
            if key in ("agencies", "investigations", "circumstances"):
                flag = {"agencies": "--agency", "investigations": "--investigation",
                        "circumstances": "--circumstance"}[key]
                for item in str(value).split(","):
                    args += [flag, item]
            else:
                args += ["--" + key.replace("_", "-"), str(value)]
        if rng.random() < 0.1:
            args[2] = nasty_dates(m, rng)[0][1]  # --today in year 99xx
            category += "+today_9999"
        return Input(target, category, m, args)
    if target == "notify_file":
        rows = []
        categories = []
        for _ in range(rng.randint(1, 3)):
            row, category = _notification(rng, m, json_ok=True)
            rows.append(row)
            categories.append(category)
        category = "+".join(categories)
        suffix = rng.choice([".csv", ".json"])
        if rng.random() < 0.35:
            category, suffix, content = broken_file(rng, m, suffix=suffix, rows=rows)
        elif suffix == ".csv":
            content = csv_bytes(rows, rng.choice(["utf-8", "utf-8-sig"]))
        else:
            content = json_bytes(rows if rng.random() < 0.8 else rows[0], bom=rng.random() < 0.3)
        return Input(target, category, m, ["notify", "--file", FILE, "--today", TODAY], (suffix, content))
    if target == "agencies":
        rows = []
        categories = []
        for i in range(rng.randint(1, 3)):
            base = {**AGENCY, "code": f"FZ{rng.randint(1, 9)}{i}"}
            if rng.random() < 0.15:
                rows.append(base)
                categories.append("valid")
                continue
            if rng.random() < 0.3:
                base["name"] = rng.choice([f"Trust{m}\r\nBcc: x@example.org", f"Trust{m}\r", f"Trust\n{m}"])
                rows.append(base)
                categories.append("cr_in_name")
                continue
            row, category = _mutate(rng, base, m, keys=list(AGENCY) + ["active"], dates=set(), json_ok=True)
            rows.append(row)
            categories.append(category)
        category = "+".join(categories)
        suffix = rng.choice([".csv", ".csv", ".json"])
        if rng.random() < 0.25:
            category, suffix, content = broken_file(rng, m, suffix=suffix, rows=rows)
        else:
            content = csv_bytes(rows, rng.choice(["utf-8", "utf-8-sig"])) if suffix == ".csv" else json_bytes(
                rows, bom=rng.random() < 0.3)
        return Input(target, category, m, ["agencies", "import", FILE], (suffix, content))
    if target == "return_content":
        entry = {"type": "event", "date": "2026-04-01", "agency": "", "what_happened": "Seen in clinic by the GP."}
        entries = []
        categories = []
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.2:
                entries.append(dict(entry))
                categories.append("valid")
            else:
                row, category = _mutate(rng, entry, m, keys=list(entry), dates={"date"}, json_ok=True, count=1)
                entries.append(row)
                categories.append(category)
        category = "+".join(categories)
        summary_category, summary = (("valid", "Known to the service.") if rng.random() < 0.5
                                     else pick_value(rng, m, json_ok=True))
        category += f"+summary:{summary_category}"
        replace = ["--replace"] if rng.random() < 0.7 else []
        args = ["return", "content", case_number, "RUH", "--today", "2026-04-20", *replace]
        mode = rng.random()
        if mode < 0.25:
            flags = []
            for e in entries:
                flags += ["--entry", f"{e['date']}|{e['what_happened']}"]
            if isinstance(summary, str):
                flags += ["--summary", summary]
            return Input(target, category, m, args + flags)
        if mode < 0.6:
            rows = ([{"type": "summary", "date": "", "agency": "", "what_happened": summary}]
                    if isinstance(summary, str) else []) + entries
            suffix, content = ".csv", csv_bytes(rows, rng.choice(["utf-8", "utf-8-sig"]))
        else:
            suffix, content = ".json", json_bytes({"summary": summary, "chronology": entries},
                                                  bom=rng.random() < 0.3)
        if rng.random() < 0.2:
            category, suffix, content = broken_file(rng, m, suffix=suffix, rows=entries)
        return Input(target, category, m, args + ["--file", FILE], (suffix, content))
    if target == "family":
        context = {"siblings": ["5-9 years"], "key_worker_offered": "yes",
                   "bereavement_support_offered": "declined", "support_notes": "Offered twice."}
        identifiers = [{"field": "parent_name", "value": "Hope Quill"}, {"field": "school", "value": "Demo School"}]
        ctx, category = _mutate(rng, context, m, keys=list(context), dates=set(), json_ok=True, count=1)
        if rng.random() < 0.5:
            which = rng.randrange(len(identifiers))
            ident, more = _mutate(rng, identifiers[which], m, keys=["field", "value"], dates=set(), json_ok=True,
                                  count=1)
            identifiers[which] = ident
            category += "+" + more
        if rng.random() < 0.3:
            flags = ["--sibling", str(ctx["siblings"] if not isinstance(ctx["siblings"], list) else "5-9 years"),
                     "--support-notes", str(ctx["support_notes"]),
                     "--identifier", f"parent_name={identifiers[0].get('value')}"]
            return Input(target, category, m, ["case", "family", case_number, *flags])
        data: object = {"context": ctx, "identifiers": identifiers}
        if rng.random() < 0.1:
            data = {"context": ctx, "identifiers": f"parent_name={m}"}
            category = "identifiers_as_text"
        suffix, content = ".json", json_bytes(data, bom=rng.random() < 0.3)
        if rng.random() < 0.2:
            category, suffix, content = broken_file(rng, m, suffix=".json", rows=[ctx])
        return Input(target, category, m, ["case", "family", case_number, "--file", FILE], (suffix, content))
    if target == "analysis":
        form = json.loads(_analysis_template())
        form["case_number"] = case_number
        form["reviewed_on"] = None
        for rec in form["recommendations"]:
            rec["due_on"] = "2027-09-01"
        dice = rng.random()
        if dice < 0.1:
            category = "valid"
        elif dice < 0.55:
            form, category = _mutate(rng, form, m, keys=["category", "modifiable", "learning", "reviewed_on"],
                                     dates={"reviewed_on"}, json_ok=True, count=1)
        else:
            part = rng.choice(["factors", "recommendations"])
            item = form[part][0]
            keys = list(item)
            item, category = _mutate(rng, item, m, keys=keys, dates={"due_on"}, json_ok=True, count=1)
            form[part][0] = item
            category = f"{part}:{category}"
        args = ["analysis", "record", case_number, "--today", "2027-03-05"]
        if rng.random() < 0.2:
            learning = form.get("learning")
            return Input(target, category, m, args + ["--category", "infection",
                                                      "--learning", str(learning),
                                                      "--factor", f"child|acute_illness|1|{form['factors'][0].get('notes')}"])
        suffix, content = ".json", json_bytes(form, bom=rng.random() < 0.3)
        if rng.random() < 0.2:
            category, suffix, content = broken_file(rng, m, suffix=".json", rows=[form])
        return Input(target, category, m, args + ["--file", FILE], (suffix, content))
    raise ValueError(target)


def _analysis_template() -> str:
    from cdop.mail.templating import template_path

    return template_path("returns/analysis_template.json").read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ running


def snapshot(settings) -> dict[str, list[str]]:
    """Every row of every CDOP table, as stored (encrypted fields as their tokens)."""
    from cdop.store.db import make_engine
    from cdop.store.models import Base

    def value(v):  # PostgreSQL gives binary columns as memoryview, whose repr is an address
        return bytes(v) if isinstance(v, memoryview) else v

    engine = make_engine(settings)
    with engine.connect() as conn:
        return {t.name: sorted(repr(tuple(value(v) for v in r)) for r in conn.execute(text(f'SELECT * FROM "{t.name}"')))
                for t in Base.metadata.sorted_tables}


@dataclass
class Outcome:
    exit_code: int
    output: str
    traceback: bool
    echoed: bool
    field_named: bool
    rows_changed: bool  # by a refused input


class Runner:
    """Runs inputs through the `cdop` command in-process (exceptions are not caught) and
    compares every table before and after each refused one. The tables are dumped once
    per input: only an accepted input changes them, so the dump taken after one input is
    the "before" of the next."""

    def __init__(self, settings, workdir: Path, cli: Callable | None = None):
        self.settings, self.workdir, self.cli = settings, workdir, cli
        self.tables = snapshot(settings)

    def run(self, item: Input) -> Outcome:
        from cdop.cli.main import main

        args = list(item.args)
        path = None
        if item.file is not None:
            suffix, content = item.file
            path = self.workdir / f"input-{item.marker}{suffix}"
            path.write_bytes(content)
            args = [str(path) if a == FILE else a for a in args]
        traceback = False
        try:
            result = CliRunner().invoke(self.cli or main, args, catch_exceptions=False)
            exit_code, output = result.exit_code, result.output
        except Exception as exc:  # what the user would have seen as a traceback
            traceback, exit_code, output = True, -1, f"{type(exc).__name__}"
        if path is not None:
            path.unlink(missing_ok=True)
        traceback = traceback or exit_code not in (0, 2) or "Traceback" in output
        refused = exit_code != 0
        after = snapshot(self.settings)
        rows_changed = refused and after != self.tables
        self.tables = after
        return Outcome(exit_code, output, traceback,
                       echoed=item.marker.lower() in output.lower(),
                       field_named=refused and ("field '" in output or "Invalid value for '--" in output),
                       rows_changed=rows_changed)


def today() -> dt.date:
    return dt.date.fromisoformat(TODAY)
