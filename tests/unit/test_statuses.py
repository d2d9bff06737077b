"""The statuses: one StrEnum per status column, each value the string stored since the
first migration, and the same values wherever else the code lists them."""

from __future__ import annotations

from cdop.store.models import Base
from cdop.store.statuses import (
    STATUS_COLUMNS,
    InvestigationStatus,
    OutboxStatus,
    RequestStatus,
    check_sql,
)


def test_every_status_column_has_its_enum_and_its_check():
    """The registry names every column called status (a new one must say its values),
    and any other column of named states (a recommendation's response), each one a real
    column; the model holds each to its enum with a CHECK of that name."""
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    columns = {(t.name, c.name) for t in tables.values() for c in t.columns if c.name == "status"}
    assert columns <= set(STATUS_COLUMNS)
    assert all(column in tables[table].columns for table, column in STATUS_COLUMNS)
    for (table, column), values in STATUS_COLUMNS.items():
        checks = {c.name: str(c.sqltext) for c in tables[table].constraints if c.__class__.__name__ == "CheckConstraint"}
        assert checks[f"ck_{table}_{column}"] == check_sql(column, values), table


def test_a_member_is_stored_and_printed_as_the_string_it_always_was():
    assert RequestStatus.SENT == "sent" and f"{RequestStatus.SENT}" == "sent" and str(RequestStatus.SENT) == "sent"
    assert {RequestStatus.SENT: 1}["sent"] == 1  # a plain string read back finds it
    assert check_sql("status", RequestStatus) == "status IN ('pending', 'sent', 'returned', 'waived')"


def test_the_lists_elsewhere_say_the_same_values():
    from cdop.cli.outbox import STATUSES
    from cdop.taxonomy import taxonomy

    assert set(taxonomy().labels("investigation_status")) == set(InvestigationStatus)
    assert STATUSES == tuple(OutboxStatus) and all(type(s) is str for s in STATUSES)  # click shows the values
