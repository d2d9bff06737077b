"""Children in the area, from a population file in the layout of the ONS mid-year
population estimates by single year of age and sex for local authorities: one row per
local authority, sex and single year of age; a local authority code column (`ladcode..`)
and one `population_<year>` column per mid-year. The rate for report year N (April N-1 to
March N) uses the mid-(N-1) estimate, the mid-year that falls inside it, as NCMD does.
"""

from __future__ import annotations

import csv
from pathlib import Path

from cdop.validation import InputError, Problem

DEMO_POPULATION = Path(__file__).resolve().parents[1] / "data" / "demo_population.csv"
CHILD_AGES = range(0, 18)  # under 18


def population_path(configured: str | None) -> Path:
    return Path(configured) if configured else DEMO_POPULATION


def children_by_mid_year(path: Path, area_codes: tuple[str, ...]) -> dict[int, int]:
    """Children aged 0-17 in `area_codes`, by mid-year. A bad row raises InputError naming
    the row and the field, never the value."""
    if not path.is_file():
        raise InputError([Problem("population_file", "no such file")])
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(line for line in fh if not line.startswith("#"))
        fields = reader.fieldnames or []
        code_field = next((f for f in fields if f.lower().startswith("ladcode")), None)
        years = {f: int(f.rsplit("_", 1)[1]) for f in fields
                 if f.lower().startswith("population_") and f.rsplit("_", 1)[1].isdigit()}
        missing = [name for name, ok in (("ladcode", code_field), ("age", "age" in fields),
                                         ("population_<year>", years)) if not ok]
        if missing:
            raise InputError([Problem(m, "column missing from the population file") for m in missing])
        totals = dict.fromkeys(years.values(), 0)
        problems: list[Problem] = []
        wanted = set(area_codes)
        for row_number, row in enumerate(reader, start=2):
            if (row.get(code_field) or "").strip() not in wanted:
                continue
            age_text = (row.get("age") or "").strip()
            if not age_text.isdigit():
                problems.append(Problem("age", "must be a whole number of years", row_number))
                continue
            if int(age_text) not in CHILD_AGES:
                continue
            for column, year in years.items():
                value = (row.get(column) or "").strip().replace(",", "")
                if not value.isdigit():
                    problems.append(Problem(column, "must be a whole number", row_number))
                    continue
                totals[year] += int(value)
        if problems:
            raise InputError(problems[:20])
    return {year: total for year, total in totals.items() if total > 0}


def mid_year_for(report_year: int) -> int:
    return report_year - 1


def rate_per_100k(deaths: int, children: int | None) -> float | None:
    if not children:
        return None
    return 100_000 * deaths / children
