"""Governance: data-sharing agreements, consent, and the decisions of the governed query service.

Framework-free (never imports Django): the web app stores agreements and consents and calls
``plan`` / ``release`` (or ``run_plan`` with an engine); an analyst can call them from a notebook.
See docs/governance.md and docs/consent.md.
"""

from wellbeat.governance.agreements import (
    PURPOSES,
    Agreement,
    AgreementError,
    AgreementStatus,
    Consent,
    Granularity,
    check_transition,
    effective_status,
)
from wellbeat.governance.decision import DataRequest, Grant, Plan, Refusal, UserContext, plan
from wellbeat.governance.resolution import PERIODS, LayerOrder

__all__ = [
    "PERIODS",
    "PURPOSES",
    "Agreement",
    "AgreementError",
    "AgreementStatus",
    "Consent",
    "DataRequest",
    "Grant",
    "Granularity",
    "LayerOrder",
    "Plan",
    "Refusal",
    "UserContext",
    "check_transition",
    "effective_status",
    "plan",
]
