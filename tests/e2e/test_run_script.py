"""`make run` (scripts/run.sh) as a newcomer meets it: it starts the whole system, says
"ready" once the first DAG run has succeeded, shows no traceback on the terminal, keeps
the services' logs under var/log/, and Ctrl-C stops every process it started and frees
every port.

One run of the real thing (a migrated Airflow, the demo, four Airflow services, the
portal and the mail catcher) on free ports in a throwaway CDOP_HOME: it takes minutes on
a loaded machine, so it runs once, not per database backend, and with the other tests
that start a server stack (one at a time)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SERVERS_GROUP, free_port

READY_TIMEOUT = 1500  # seconds: the first migration and demo load on a loaded 2-core machine
STOP_WITHIN = 10 + 10  # seconds: the promise (10 s) and slack for a loaded machine


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name: [0] state, [1] ppid,
    [19] start time; None once the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _descendants(root: int) -> dict[int, str]:
    """Every process below `root` (children call setsid, so the tree, not the group),
    with its start time: on a busy machine a pid is soon reused, and a process that
    merely took an old pid is not one this script started."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = _stat(int(entry))
            if stat is not None:
                children.setdefault(int(stat[1]), []).append((int(entry), stat[19]))
    found: dict[int, str] = {}
    todo = [root]
    while todo:
        for child, start in children.get(todo.pop(), []):
            if child not in found:
                found[child] = start
                todo.append(child)
    return found


def _running(pid: int, start: str) -> bool:
    """The process that had this pid at `start` is still there and not a zombie."""
    stat = _stat(pid)
    return stat is not None and stat[19] == start and stat[0] != "Z"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    except OSError:
        return "?"


def _port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not in use
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


@pytest.mark.timeout(READY_TIMEOUT + 300)
@pytest.mark.xdist_group(SERVERS_GROUP)
def test_make_run_says_ready_quietly_and_ctrl_c_stops_everything(tmp_path):
    ports = {name: free_port() for name in ("api", "smtp", "portal", "worker_logs", "trigger_logs")}
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW", "CDOP_", "PYTEST_"))}
    env.update({
        "CDOP_HOME": str(tmp_path / "var"),
        "CDOP_VENV": str(Path(sys.executable).parent.parent),
        "CDOP_START_TIMEOUT": str(READY_TIMEOUT),
        "CDOP_SMTP_PORT": str(ports["smtp"]),
        "CDOP_PORTAL_PORT": str(ports["portal"]),
        "AIRFLOW__API__PORT": str(ports["api"]),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports["worker_logs"]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports["trigger_logs"]),
    })
    started = time.monotonic()
    proc = subprocess.Popen(["bash", str(ROOT / "scripts/run.sh")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if line.strip() == "ready":
                ready.set()
        ready.set()  # the script ended: stop waiting

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    tree: dict[int, str] = {}
    try:
        ready.wait(READY_TIMEOUT)
        terminal = "".join(lines)
        assert proc.poll() is None and "ready" in terminal.splitlines(), terminal[-3000:]
        print(f"make run: ready after {time.monotonic() - started:.0f} s")

        assert "Traceback" not in terminal, terminal
        assert f"http://localhost:{ports['api']}" in terminal and "sign in as admin / " in terminal
        assert f"http://127.0.0.1:{ports['portal']}" in terminal and "/mail/" in terminal
        logs = tmp_path / "var/log"
        for service in ("api-server", "scheduler", "dag-processor", "triggerer", "portal", "smtp-sink"):
            assert (logs / f"{service}.log").is_file(), service
        assert all(_port_in_use(p) for p in (ports["api"], ports["smtp"], ports["portal"]))

        tree = _descendants(proc.pid)
        assert len(tree) >= 6  # the six services, and whatever they started
        os.kill(proc.pid, signal.SIGINT)  # what Ctrl-C sends the foreground script
        proc.wait(timeout=STOP_WITHIN)
        reader.join(timeout=5)
        left = {pid: (_cmdline(pid), (_stat(pid) or ["?"])[0]) for pid, start in tree.items()
                if _running(pid, start)}
        assert not left, f"still running after Ctrl-C: {left}"
        busy = [name for name, port in ports.items() if _port_in_use(port)]
        assert not busy, f"ports still held after Ctrl-C: {busy}"
        assert "Traceback" not in "".join(lines)
    finally:
        for pid in set(tree) | set(_descendants(proc.pid)) | {proc.pid}:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass
        proc.wait(timeout=30)
