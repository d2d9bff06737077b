"""The portal as deployed: a service of its own in docker-compose.yaml (not Airflow's API
server), and started by `make run` for the demo, its links pointing at it."""

from __future__ import annotations

from cdop.config import Policy
from tests.support.deploy import ROOT, compose


def test_the_portal_is_a_service_of_its_own_in_the_stack():
    services = compose()["services"]
    portal = services["cdop-portal"]
    assert portal["entrypoint"][:3] == ["cdop", "portal", "serve"]
    assert "airflow" not in " ".join(portal["entrypoint"])
    assert portal["env_file"] == ".env"  # the keys and the database URL, as for the workers
    assert portal["depends_on"]["cdop-db"]["condition"] == "service_healthy"
    assert portal["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert "cdop-home:/opt/cdop/var" in portal["volumes"]  # attachments, beside returned files
    assert "mail-certs:/certs:ro" in portal["volumes"]  # it sends its codes through the relay
    assert portal["healthcheck"]["test"]
    port = portal["entrypoint"][portal["entrypoint"].index("--port") + 1]
    assert any(p.endswith(f":{port}") for p in portal["ports"])


def test_make_run_starts_the_portal_where_the_demo_links_point():
    script = (ROOT / "scripts" / "run.sh").read_text()
    # Started as one of run.sh's services, on 8095 unless told otherwise...
    assert 'PORTAL_PORT="${CDOP_PORTAL_PORT:-8095}"' in script
    assert 'start portal "$BIN/cdop" portal serve --port "$PORTAL_PORT"' in script
    # ...and stopped with the rest: every started service's process group is recorded,
    # and the traps on Ctrl-C, SIGTERM and exit stop every recorded group.
    start = script.split("start() {", 1)[1].split("\n}", 1)[0]
    assert 'PGIDS+=("$!")' in start
    stop = script.split("stop_all() {", 1)[1].split("\n}", 1)[0]
    assert 'kill -TERM -- "-$pgid"' in stop and 'kill -KILL -- "-${PGIDS[$i]}"' in stop
    assert "trap on_signal INT TERM" in script and "trap stop_all EXIT" in script
    # The demo's links point at it: the default port is the policy's, another one is
    # written into a policy of its own.
    assert Policy().portal.base_url == "http://127.0.0.1:8095"
    assert 'base_url = "http://127.0.0.1:%s"\\n' in script and '"$PORTAL_PORT" > "$CDOP_POLICY_FILE"' in script
