"""The nudge that offers a rebuilt report's check at once.

The coordinator's check is offered as an Airflow Required Action by the assembly run
(cdop_assemble_case_reports), which also runs hourly. When a report is rebuilt from the
CLI or a page, the build leaves this signal file under CDOP_HOME; Airflow's triggerer
watches it (an AssetWatcher on the `cdop_assemble_case_reports` DAG's asset), deletes it
and starts an assembly run within seconds, which offers every report still waiting for
its check. The file carries nothing but the time: the CDOP database says what to offer,
so a signal lost or sent twice changes nothing (the hourly run still offers; an offer is
made once per report and run).
"""

from __future__ import annotations

from pathlib import Path

from cdop.private_files import private_dir, write_private

SIGNAL = Path("signals") / "report-check-offer"


def signal_path(home: Path) -> Path:
    return home / SIGNAL


def signal_check_offer(home: Path, moment: str) -> Path:
    """Leave (or refresh) the signal; `moment` is an ISO timestamp, the file's only content."""
    path = signal_path(home)
    private_dir(path.parent)
    write_private(path, moment.encode("ascii") + b"\n")
    return path
