"""Modifiable factors, as the analysis form defines them from the factor lines.

Each factor the panel finds is a line of its own in its domain, graded
(data/analysis_factors.toml): 0 information not available, 1 factor present but not
contributory, 2 factor may have contributed. A case has modifiable factors if and only
if any of its factors is graded 2. Without one, it has none -- unless the panel says the
information was insufficient to judge, or every line it entered is graded 0.

`case_modifiable` is the rule; `has_modifiable_factor` is its SQL form (the "yes" half,
for queries over many analyses), held equal to it by tests/integration/test_analysis_lines.py.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, exists

from cdop.store.models import Analysis, AnalysisFactor

NOT_AVAILABLE = 0
NOT_CONTRIBUTORY = 1
MAY_HAVE_CONTRIBUTED = 2
GRADES = (NOT_AVAILABLE, NOT_CONTRIBUTORY, MAY_HAVE_CONTRIBUTED)

YES, NO, INSUFFICIENT = "yes", "no", "insufficient"


def case_modifiable(grades: Iterable[int], *, insufficient_information: bool = False) -> str:
    """yes | no | insufficient for a case whose factor lines carry `grades`."""
    grades = list(grades)
    if any(g == MAY_HAVE_CONTRIBUTED for g in grades):
        return YES
    if insufficient_information or (grades and all(g == NOT_AVAILABLE for g in grades)):
        return INSUFFICIENT
    return NO


def is_modifiable_factor(grade: int) -> bool:
    return grade == MAY_HAVE_CONTRIBUTED


def has_modifiable_factor(analysis_id: ColumnElement[int] | None = None) -> ColumnElement[bool]:
    """SQL: the analysis (default: the `analyses` row in the enclosing query) has a factor
    graded 2."""
    target = Analysis.id if analysis_id is None else analysis_id
    return exists().where(AnalysisFactor.analysis_id == target,
                          AnalysisFactor.grade == MAY_HAVE_CONTRIBUTED)
