"""A real HTTP server for a test: uvicorn on a free loopback port, in a thread of the
test's process (so that what the app read of a request's body can be counted), and a
raw client that sends a chunked body with no length, as an attacker would."""

from __future__ import annotations

import socket
import threading
import time

import uvicorn

from tests.conftest import free_port

CHUNK = 64 * 1024
# The most uvicorn hands the app in one message: it stops reading the socket once its
# buffer passes 64 KB, so a message is at most that and one more read of the socket
# (asyncio reads up to 256 KB at a time).
SERVER_MESSAGE_MAX = 64 * 1024 + 256 * 1024


class Counted:
    """The app, with the body bytes it was handed counted (what the server read for it)."""

    def __init__(self, app):
        self.app = app
        self.body_bytes = 0
        self.last_message = 0

    async def __call__(self, scope, receive, send):
        async def counting():
            message = await receive()
            if message["type"] == "http.request":
                self.last_message = len(message.get("body", b""))
                self.body_bytes += self.last_message
            return message

        await self.app(scope, counting, send)


def serve(app):
    """uvicorn on a free loopback port in a thread; trusts X-Forwarded-Proto from loopback
    (as `cdop portal serve --proxy 127.0.0.1` would)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False,
                            lifespan="off", proxy_headers=True, forwarded_allow_ips="127.0.0.1")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:  # a wait for start-up, not a timed assertion
        if not thread.is_alive():
            raise AssertionError("the portal server did not start")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def chunked_post(url: str, path: str, total: int) -> tuple[int, int]:
    """POST a chunked body of up to `total` bytes, no length given (one file in a form, as
    an upload would be), from one thread while this one reads the answer: (status, bytes
    the client managed to send)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=120)
    sent = 0

    def send_body():
        nonlocal sent
        chunk = b"%x\r\n" % CHUNK + b"a" * CHUNK + b"\r\n"
        part = (b'--B\r\nContent-Disposition: form-data; name="attachments"; filename="big.pdf"\r\n'
                b"Content-Type: application/pdf\r\n\r\n%PDF-")
        try:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
                         "Content-Type: multipart/form-data; boundary=B\r\n\r\n".encode()
                         + b"%x\r\n" % len(part) + part + b"\r\n")
            while sent < total:
                sock.sendall(chunk)
                sent += CHUNK
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server stopped reading and closed: expected

    sender = threading.Thread(target=send_body, daemon=True)
    sender.start()
    answer = b""
    try:
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    finally:
        sock.close()
        sender.join(timeout=60)
    return int(answer.split(b" ", 2)[1]), sent
