"""Every care state change and every read of a person's referral: each ``do_*`` checks who may
act, owns its transaction, and writes the audit row (refusals are audited too).

Privacy rules enforced here: the person is held only by the hub pseudonym (computed from what
the officer types, never stored); officers see a referral's status, never its clinical detail;
a referral into a Part 2 program needs a valid 42 CFR Part 2 consent to be made and to be read,
so a revocation stops sharing at the next read. The person's name and contact details travel
only as a card sealed to the receiving agency's key, only if the person agreed to share them
with that provider, and are opened only for that agency's clinicians and care coordinators who
unlocked the agency key (``wellbeat.care.sealing``); the plaintext is never stored or audited.

One module per topic: ``common`` (role sets, ``CareError``, the actor check), ``directory``,
``encounters``, ``consent``, ``access`` (who may read a referral; read and list audit),
``referrals``, ``contact_keys``, ``followups``, ``triage``, ``fhir``. Callers import from this
package (``from wellbeat.web.care import actions``); the names below are its public surface.
"""

from __future__ import annotations

from wellbeat.web.care.actions.access import (
    ReferralAccess,
    access_for,
    do_open_referral,
    record_list_access,
    record_measures_export,
    sees_clinical_detail,
    sides_of,
)
from wellbeat.web.care.actions.common import (
    CLINICAL_ROLES,
    CONTACT_READER_ROLES,
    COORDINATE_DECIMALS,
    DIRECTORY_EDITOR_ROLES,
    ENCOUNTER_ROLES,
    KEY_ADMIN_ROLES,
    MEASURE_ROLES,
    PERFORMER_ROLES,
    REFERRER_ROLES,
    TRIAGE_ROLES,
    TRIAGE_RULES_FILE,
    CareError,
)
from wellbeat.web.care.actions.consent import (
    consents_for,
    part2_decision,
)
from wellbeat.web.care.actions.contact_keys import (
    UNLOCK_ATTEMPTS,
    UNLOCK_WINDOW,
    current_key,
    do_change_key_passphrase,
    do_create_agency_key,
    do_reveal_contacts,
    do_unlock_contact_keys,
    may_read_contacts,
)
from wellbeat.web.care.actions.directory import (
    ImportResult,
    directory_documents,
    do_import_directory,
    do_update_service,
)
from wellbeat.web.care.actions.encounters import (
    do_record_encounter,
    encounters_for,
    hub_person_token,
)
from wellbeat.web.care.actions.fhir import (
    FhirExport,
    FhirImport,
    do_export_fhir,
    do_import_fhir,
)
from wellbeat.web.care.actions.followups import (
    do_raise_overdue_followups,
    do_resolve_followup,
    followups_for,
)
from wellbeat.web.care.actions.referrals import (
    agency_referrals,
    do_change_status,
    do_mark_notifications_read,
    do_refer,
    incoming_referrals,
    referrals_sent_by,
)
from wellbeat.web.care.actions.triage import (
    current_rules,
    do_record_call,
    do_record_call_response,
)

__all__ = [
    "CLINICAL_ROLES",
    "CONTACT_READER_ROLES",
    "COORDINATE_DECIMALS",
    "DIRECTORY_EDITOR_ROLES",
    "ENCOUNTER_ROLES",
    "KEY_ADMIN_ROLES",
    "MEASURE_ROLES",
    "PERFORMER_ROLES",
    "REFERRER_ROLES",
    "TRIAGE_ROLES",
    "TRIAGE_RULES_FILE",
    "UNLOCK_ATTEMPTS",
    "UNLOCK_WINDOW",
    "CareError",
    "FhirExport",
    "FhirImport",
    "ImportResult",
    "ReferralAccess",
    "access_for",
    "agency_referrals",
    "consents_for",
    "current_key",
    "current_rules",
    "directory_documents",
    "do_change_key_passphrase",
    "do_change_status",
    "do_create_agency_key",
    "do_export_fhir",
    "do_import_directory",
    "do_import_fhir",
    "do_mark_notifications_read",
    "do_open_referral",
    "do_raise_overdue_followups",
    "do_record_call",
    "do_record_call_response",
    "do_record_encounter",
    "do_refer",
    "do_resolve_followup",
    "do_reveal_contacts",
    "do_unlock_contact_keys",
    "do_update_service",
    "encounters_for",
    "followups_for",
    "hub_person_token",
    "incoming_referrals",
    "may_read_contacts",
    "part2_decision",
    "record_list_access",
    "record_measures_export",
    "referrals_sent_by",
    "sees_clinical_detail",
    "sides_of",
]
