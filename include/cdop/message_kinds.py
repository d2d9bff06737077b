"""Import every module that registers an outbox message kind (see outbox.register)."""

import cdop.annual_report.service  # noqa: F401
import cdop.chasing  # noqa: F401
import cdop.digest  # noqa: F401
from cdop import agency_requests  # noqa: F401
