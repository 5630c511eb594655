"""Governance: data-sharing agreements, consent, and the decisions of the governed query service.

Framework-free (never imports Django): the web app stores agreements and consents and calls
``plan`` / ``release`` (or ``run_plan`` with an engine); an analyst can call them from a notebook.
See docs/governance.md and docs/consent.md. The request vocabulary the web app needs from the
lake (``AttributeCondition``, ``attribute:<name>`` dimensions) is re-exported here, since web
modules never import the lake (periods and local days: ``wellbeat.events.periods``).
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
from wellbeat.lake.query import (
    ATTRIBUTE_BY_PREFIX,
    AttributeCondition,
    attribute_dimension,
    attribute_name,
    valid_attribute_dimension,
)

__all__ = [
    "ATTRIBUTE_BY_PREFIX",
    "PERIODS",
    "PURPOSES",
    "Agreement",
    "AgreementError",
    "AgreementStatus",
    "AttributeCondition",
    "Consent",
    "DataRequest",
    "Grant",
    "Granularity",
    "LayerOrder",
    "Plan",
    "Refusal",
    "UserContext",
    "attribute_dimension",
    "attribute_name",
    "check_transition",
    "effective_status",
    "plan",
    "valid_attribute_dimension",
]
