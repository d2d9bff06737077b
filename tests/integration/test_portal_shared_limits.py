"""The portal's rate limits when more than one portal process serves the same links:
counted in Redis (the local server on 127.0.0.1:6379), so two portals together allow the
limit once, not once each. Each portal is its own app with its own limiter, served by its
own uvicorn server on loopback; what they share is the Redis store (and the database)."""

from __future__ import annotations

import secrets
import socket

import httpx
import pytest

from cdop.config import ConfigError
from cdop.portal.app import create_app, limits_storage
from cdop.sending.portal import deliver_now
from tests.integration.test_portal import with_portal
from tests.support.http_server import serve

REDIS = "redis://127.0.0.1:6379/0"
# What is counted does not depend on the database's backend: SQLite only.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def two_portals(agencies, request):
    """Two portals on one store (a test-only key prefix, so a rerun starts at zero)."""
    store = request.param
    if store != "memory://" and not _redis_up():
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    settings = with_portal(agencies, requests_per_minute_per_address=6)
    prefix = f"cdop-portal-test-{secrets.token_hex(6)}"
    servers = [serve(create_app(settings, deliver=deliver_now, limits=store, limits_prefix=prefix))
               for _ in range(2)]
    try:
        yield [url for _, _, url in servers]
    finally:
        for server, thread, _ in servers:
            server.should_exit = True
            thread.join(timeout=60)


def _statuses(urls: list[str], count: int) -> list[int]:
    """`count` requests for unknown links, alternating between the portals."""
    clients = [httpx.Client(base_url=url) for url in urls]
    try:
        return [clients[n % len(clients)].get(f"/r/guess{n:04d}aaaaaaaaaaaaaaaaaaaa").status_code
                for n in range(count)]
    finally:
        for client in clients:
            client.close()


@sqlite_only
@pytest.mark.parametrize("two_portals", [REDIS], indirect=True)
def test_two_portals_on_redis_allow_the_per_address_limit_once_between_them(two_portals):
    statuses = _statuses(two_portals, 10)
    assert statuses[:6] == [404] * 6 and statuses[6:] == [429] * 4


@sqlite_only
@pytest.mark.parametrize("two_portals", ["memory://"], indirect=True)
def test_two_portals_in_memory_each_allow_the_limit_which_is_why_redis_is_needed(two_portals):
    statuses = _statuses(two_portals, 10)
    assert statuses == [404] * 10  # six allowed by each: the limit is not held across processes


@sqlite_only
def test_a_portal_whose_store_is_unreachable_refuses_rather_than_serving_unlimited(agencies):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    app = create_app(with_portal(agencies), deliver=deliver_now, limits=f"redis://127.0.0.1:{dead}/0")
    server, thread, url = serve(app)
    try:
        with httpx.Client(base_url=url) as client:
            refused = client.get("/r/anyaaaaaaaaaaaaaaaaaaaaaaaa")
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "60"
        assert "cannot take requests just now" in refused.text
        assert refused.headers["Cache-Control"] == "no-store"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


@pytest.mark.parametrize("uri", ["", "redis-not-a-url", "http://127.0.0.1:6379", "mongodb://x", "memcached://h:1"])
def test_a_store_that_is_neither_memory_nor_redis_is_refused_by_name_without_the_value(uri):
    with pytest.raises(ConfigError) as refused:
        limits_storage(uri)
    assert "rate-limit store" in str(refused.value)
    if uri:
        assert uri not in str(refused.value)
