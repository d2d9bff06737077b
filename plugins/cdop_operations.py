"""The CDOP operations pages inside Airflow.

Mounts the `cdop_airflow.ops_app` FastAPI app on the API server at /cdop and adds a
"CDOP" entry to the Airflow UI navigation that opens it (an external view shown inside
the UI). Only signed-in Airflow users reach it: every route checks Airflow's own JWT.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from cdop_airflow.ops_app import create_app

URL_PREFIX = "/cdop"

# A small inline icon (a document with a tick), so the entry needs no static route.
ICON = (
    "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 24 24' "
    "fill='none' stroke='%23005eb8' stroke-width='2'><path d='M6 2h9l5 5v15H6z'/>"
    "<path d='M9 14l2 2 4-4'/></svg>"
)


class CdopOperationsPlugin(AirflowPlugin):
    name = "cdop_operations"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": "CDOP operations"}]
    external_views = [
        {
            "name": "CDOP",
            # Relative: resolved against the UI's <base href>, so it follows [api] base_url.
            "href": URL_PREFIX.lstrip("/") + "/",
            "url_route": "cdop",
            "destination": "nav",
            "nav_top_level": True,
            "icon": ICON,
        }
    ]
