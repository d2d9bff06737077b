"""An app served over real HTTP for a benchmark, and the least a client can do to ask it.

The server is uvicorn, as `airflow api-server` runs it (httptools and uvloop where they
are installed, no access log), on a free loopback port, in a thread of the benchmark's
own process: the statements a page runs are then captured on the same engine. The
client is one keep-alive HTTP/1.1 connection from http.client.

Starlette's TestClient is not used for timing: it passes every request through an anyio
portal and httpx, and on this kind of machine that costs about 2 ms a request on a bare
route, against about 0.4 ms through uvicorn and http.client -- the test client's own
work, which is no part of a page a person is served.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Response:
    status_code: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class Client:
    """GET over one kept-alive connection (reopened if the server closed it)."""

    def __init__(self, port: int):
        self._port = port
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def get(self, path: str) -> Response:
        try:
            return self._get(path)
        except (http.client.RemoteDisconnected, ConnectionError):
            self._conn.close()
            self._conn = http.client.HTTPConnection("127.0.0.1", self._port, timeout=60)
            return self._get(path)

    def _get(self, path: str) -> Response:
        self._conn.request("GET", path)
        response = self._conn.getresponse()
        return Response(response.status, response.read())

    def close(self) -> None:
        self._conn.close()


@contextmanager
def served(app) -> Iterator[Client]:
    """`app` served by uvicorn on loopback for the block, and a client for it."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on",
                                           timeout_keep_alive=600))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the benchmark's uvicorn server did not start")
        time.sleep(0.01)
    client = Client(sock.getsockname()[1])
    try:
        yield client
    finally:
        client.close()
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
