"""The nudge that offers a rebuilt report's check at once.

The coordinator's check is offered as an Airflow Required Action by the assembly run
(cdop_assemble_case_reports), which also runs hourly. When a report is rebuilt from the
CLI or a page, the rebuild raises this signal: a row in the CDOP database's `signals`
table, written in the rebuild's own transaction. Airflow's triggerer polls for it (an
AssetWatcher on the `cdop_assemble_case_reports` DAG's asset, cdop_airflow.triggers),
takes it and starts an assembly run within seconds, which offers every report still
waiting for its check. The row carries a name and a time, nothing else: the database
says what to offer, so a signal taken twice or never changes nothing (the hourly run
still offers; an offer is made once per report and run). Nothing is shared but the
database: the triggerer may run on any machine.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cdop.store.models import Signal

REPORT_CHECK_OFFER = "report-check-offer"


def signal_check_offer(session: Session) -> None:
    """Raise the signal in the caller's transaction (it is seen once that commits)."""
    session.add(Signal(name=REPORT_CHECK_OFFER))


def take_signal(session: Session, name: str = REPORT_CHECK_OFFER) -> bool:
    """Take every raised `name` signal; True if this call took one. Two takers at once
    (two triggerers) delete by id, so each row is taken by exactly one of them."""
    ids = list(session.scalars(select(Signal.id).where(Signal.name == name)))
    if not ids:
        return False
    return session.execute(delete(Signal).where(Signal.id.in_(ids))).rowcount > 0


def raised(session: Session, name: str = REPORT_CHECK_OFFER) -> int:
    """How many `name` signals are waiting (for the operations pages and tests)."""
    return len(list(session.scalars(select(Signal.id).where(Signal.name == name))))
