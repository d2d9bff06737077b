"""Import every module that registers an outbox message kind (see outbox.register)."""

from cdop import agency_requests  # noqa: F401
