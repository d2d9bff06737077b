"""Every kind of outgoing message, in one explicit registry: how each is composed from
the database at send time (so no body, and no identifier, is stored in the outbox) and
what sending it changes. Nothing registers itself on import; a new kind is added here.
"""

from __future__ import annotations

from types import MappingProxyType

from cdop.annual_report import service as annual_report
from cdop.mail import outages, task_failures
from cdop.mail.outbox import MessageKind
from cdop.panel import analysis, case_reports, meetings, papers, report_notices
from cdop.portal import codes as portal_codes
from cdop.portal import messages as portal
from cdop.requests import agency_requests, chasing, digest
from cdop.sending import recommendations as recommendation_sending

REGISTRY = MappingProxyType({
    agency_requests.KIND: MessageKind(agency_requests.compose, on_sent_batch=agency_requests.on_sent_batch),
    chasing.REMINDER: MessageKind(chasing.compose, prefetch=chasing.prefetch, on_sent_batch=chasing.on_sent_batch),
    chasing.ESCALATION: MessageKind(chasing.compose, prefetch=chasing.prefetch, on_sent_batch=chasing.on_sent_batch),
    digest.KIND: MessageKind(digest.compose),
    case_reports.KIND_BLOCKED: MessageKind(report_notices.compose_blocked),
    case_reports.KIND_RETURNED: MessageKind(report_notices.compose_returned),
    case_reports.KIND_CHECK_REQUESTED: MessageKind(report_notices.compose_check_requested),
    meetings.KIND_PACK: MessageKind(papers.compose_pack),
    meetings.KIND_ADDENDUM: MessageKind(papers.compose_addendum),
    meetings.KIND_NEW_DEATHS: MessageKind(papers.compose_new_deaths),
    analysis.KIND_AGREED: MessageKind(recommendation_sending.compose_recommendation,
                                      on_sent_batch=recommendation_sending.on_recommendations_sent),
    analysis.KIND_REMINDER: MessageKind(recommendation_sending.compose_reminder,
                                        on_sent_batch=recommendation_sending.on_reminders_sent),
    analysis.KIND_ESCALATION: MessageKind(analysis.compose_escalation, analysis.on_reminder_sent),
    annual_report.KIND: MessageKind(annual_report.compose),
    task_failures.KIND: MessageKind(task_failures.compose),
    outages.KIND: MessageKind(outages.compose),
    portal_codes.KIND: MessageKind(portal_codes.compose),
    portal.KIND_LINK: MessageKind(portal.compose_link, on_sent_batch=portal.on_links_sent),
    portal.KIND_FLAGGED: MessageKind(portal.compose_flagged),
})
