"""Wait, for scripts/run.sh, until a service answers: a port listens, a URL answers 200, or
the first DAG run has succeeded. Exits 1 (with one line, no traceback) on timeout, or as
soon as one of the watched process groups has no process left -- a service that died
while starting must not leave `make run` waiting for the full timeout.

Standard library only: it runs before anything else is known to work.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import time
import urllib.error
import urllib.request


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A group whose only member is an unreaped zombie has stopped all the same.
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


class _FirstGreenRun:
    """Asks the REST API (signed in as the demo admin) for one successful DAG run."""

    def __init__(self, base: str, user: str, password: str) -> None:
        self.base, self.user, self.password = base.rstrip("/"), user, password
        self.token: str | None = None

    def __call__(self) -> bool:
        try:
            if self.token is None:
                body = json.dumps({"username": self.user, "password": self.password}).encode()
                req = urllib.request.Request(
                    f"{self.base}/auth/token", data=body,
                    headers={"Content-Type": "application/json"}, method="POST",
                )
                with urllib.request.urlopen(req, timeout=20) as resp:
                    self.token = json.load(resp)["access_token"]
            req = urllib.request.Request(
                f"{self.base}/api/v2/dags/~/dagRuns?state=success&limit=1",
                headers={"Authorization": f"Bearer {self.token}"},
            )
            with urllib.request.urlopen(req, timeout=20) as resp:
                return json.load(resp).get("total_entries", 0) > 0
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                self.token = None
            return False
        except (OSError, ValueError, KeyError):
            return False


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--watch", default="", help="process group ids, comma-separated")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--port", type=int)
    what.add_argument("--http")
    what.add_argument("--first-green-run", nargs=3, metavar=("BASE_URL", "USER", "PASSWORD"))
    args = parser.parse_args()

    if args.port:
        check = lambda: _port_open(args.port)  # noqa: E731
    elif args.http:
        check = lambda: _answers(args.http)  # noqa: E731
    else:
        check = _FirstGreenRun(*args.first_green_run)
    watched = [int(p) for p in args.watch.split(",") if p]

    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if check():
            return 0
        for pgid in watched:
            if not _group_alive(pgid):
                print(f"!! a service stopped while starting (process group {pgid})", file=sys.stderr)
                return 1
        time.sleep(2)
    print(f"!! still not ready after {args.timeout:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(1)
