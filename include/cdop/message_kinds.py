"""Import every module that registers an outbox message kind (see outbox.register)."""

import cdop.analysis  # noqa: F401
import cdop.annual_report.service  # noqa: F401
import cdop.case_reports  # noqa: F401
import cdop.chasing  # noqa: F401
import cdop.digest  # noqa: F401
import cdop.panel  # noqa: F401
from cdop import agency_requests  # noqa: F401
