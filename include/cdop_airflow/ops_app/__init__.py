"""The CDOP operations pages: a FastAPI app that the `cdop_operations` plugin mounts on
Airflow's API server at /cdop, reached from the "CDOP" entry in the Airflow UI.

Pages read through the read models in `cdop.views` (aggregated in SQL, paginated); actions call the
same services as the `cdop` command (same validation, same audit trail), with the
signed-in Airflow user as the actor. Templates: include/templates/ops/.
"""

from __future__ import annotations

from cdop_airflow.ops_app.app import create_app

__all__ = ["create_app"]
