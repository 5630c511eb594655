"""Deciding requests: which agreement allows what, and the refusal messages users read."""

from __future__ import annotations

from datetime import UTC, date, datetime

from gov_world import LAYERS, NOW, agreement

from wellbeat.governance import (
    AgreementStatus,
    Consent,
    DataRequest,
    Plan,
    Refusal,
    UserContext,
    plan,
)


def decide(user: UserContext, request: DataRequest, agreements=(), consents=(), purpose=None):
    return plan(
        user,
        purpose or "public_health_surveillance",
        request,
        list(agreements),
        list(consents),
        LAYERS,
        NOW,
    )


def test_own_agency_is_read_in_full_without_any_agreement(analyst: UserContext) -> None:
    result = decide(analyst, DataRequest(area_layer="neighbourhood", period="day"))
    assert isinstance(result, Plan)
    assert result.providers == ("PH",)
    assert result.grants[0].own and result.grants[0].min_cell == 1


def test_named_provider_without_agreement_is_refused(analyst: UserContext) -> None:
    result = decide(analyst, DataRequest(agencies=("MPD",)))
    assert isinstance(result, Refusal)
    assert result.message == (
        "no agreement from MPD to PH exists (an admin of each agency must draft and approve one)"
    )


def test_refusal_names_syndrome_and_layer_that_are_missing(analyst: UserContext) -> None:
    crisis = agreement(
        id="A-7",
        provider="MPD",
        syndromes=frozenset({"mental_health_crisis"}),
        finest_layer="district",
    )
    result = decide(
        analyst,
        DataRequest(agencies=("MPD",), syndromes=("opioid_overdose",), area_layer="neighbourhood"),
        [crisis],
    )
    assert isinstance(result, Refusal)
    assert result.reasons == (
        "no active agreement from MPD to PH covers syndrome opioid_overdose "
        "at layer neighbourhood (finest allowed: district)",
    )


def test_coarsen_true_coarsens_to_the_finest_allowed_layer_and_period(
    analyst: UserContext,
) -> None:
    a = agreement(finest_layer="beat", finest_period="week")
    request = DataRequest(agencies=("EMS",), area_layer="neighbourhood", period="day")
    refused = decide(analyst, request, [a])
    assert isinstance(refused, Refusal)
    assert "at layer neighbourhood (finest allowed: beat)" in refused.message
    assert "by period day (finest allowed: week)" in refused.message

    result = decide(analyst, DataRequest(**{**request.__dict__, "coarsen": True}), [a])
    assert isinstance(result, Plan)
    assert (result.area_layer, result.period) == ("beat", "week")
    assert any("coarsened from neighbourhood to beat" in n for n in result.notes)
    assert any("coarsened from day to week" in n for n in result.notes)


def test_several_providers_share_the_coarsest_geography(analyst: UserContext) -> None:
    ems = agreement(id="A-1", provider="EMS", finest_layer="neighbourhood")
    ed = agreement(id="A-2", provider="GEN", finest_layer="district", min_cell=5)
    result = decide(
        analyst,
        DataRequest(agencies=("EMS", "GEN"), area_layer="neighbourhood", coarsen=True),
        [ems, ed],
    )
    assert isinstance(result, Plan)
    assert result.area_layer == "district"
    assert result.strictest_min_cell == 10
    assert result.agreement_ids == ("A-1", "A-2")


def test_status_and_validity_window_are_enforced(analyst: UserContext) -> None:
    request = DataRequest(agencies=("EMS",))
    cases = {
        AgreementStatus.DRAFT: "agreement A-1 from EMS to PH is a draft",
        AgreementStatus.REVOKED: "agreement A-1 from EMS to PH was revoked",
    }
    for status, expected in cases.items():
        result = decide(analyst, request, [agreement(status=status)])
        assert isinstance(result, Refusal) and result.message.startswith(expected)
    expired = decide(analyst, request, [agreement(valid_to=date(2025, 6, 14))])
    assert isinstance(expired, Refusal)
    assert expired.message == "agreement A-1 from EMS to PH expired on 2025-06-14"
    future = decide(analyst, request, [agreement(valid_from=date(2025, 7, 1))])
    assert isinstance(future, Refusal) and "takes effect on 2025-07-01" in future.message
    last_day = decide(analyst, request, [agreement(valid_to=date(2025, 6, 15))])
    assert isinstance(last_day, Plan)


def test_purpose_and_role_must_match(analyst: UserContext) -> None:
    a = agreement(recipient_roles=frozenset({"care_coordinator"}))
    wrong_purpose = decide(
        analyst, DataRequest(agencies=("EMS",)), [agreement()], purpose="research"
    )
    assert isinstance(wrong_purpose, Refusal)
    assert "for purpose research (agreement A-1 is for public_health_surveillance)" in (
        wrong_purpose.message
    )
    wrong_role = decide(analyst, DataRequest(agencies=("EMS",)), [a])
    assert isinstance(wrong_role, Refusal)
    assert "for role analyst (agreement A-1 is limited to care_coordinator)" in wrong_role.message


def test_unnamed_providers_that_do_not_fit_are_left_out_with_a_note(analyst: UserContext) -> None:
    fits = agreement(id="A-1", provider="EMS")
    too_fine = agreement(id="A-2", provider="MPD", finest_layer="district")
    result = decide(analyst, DataRequest(area_layer="beat"), [fits, too_fine])
    assert isinstance(result, Plan)
    assert result.providers == ("EMS", "PH")
    assert result.notes == (
        "not included: no active agreement from MPD to PH covers this request "
        "at layer beat (finest allowed: district)",
    )


def test_scope_narrows_rows_to_the_agreement(analyst: UserContext) -> None:
    result = decide(analyst, DataRequest(agencies=("EMS", "PH")), [agreement()])
    assert isinstance(result, Plan)
    ems = result.grant_for("EMS")
    own = result.grant_for("PH")
    assert ems is not None and ems.syndromes == frozenset({"overdose", "opioid_overdose"})
    assert own is not None and own.syndromes is None


def test_breakdown_by_quasi_identifier_needs_the_field(analyst: UserContext) -> None:
    refused = decide(analyst, DataRequest(agencies=("EMS",), by=("sex", "syndrome")), [agreement()])
    assert isinstance(refused, Refusal) and "broken down by sex" in refused.message
    allowed = decide(
        analyst,
        DataRequest(agencies=("EMS",), by=("sex", "syndrome")),
        [agreement(fields=frozenset({"sex"}))],
    )
    assert isinstance(allowed, Plan)


def test_extracts_need_person_level_access_and_agreement(
    analyst: UserContext, coordinator: UserContext
) -> None:
    request = DataRequest(kind="extract", agencies=("EMS",), columns=("person_token",))
    no_role = decide(analyst, request, [agreement()])
    assert isinstance(no_role, Refusal) and "may not read person-level rows" in no_role.message
    aggregate_only = decide(coordinator, request, [agreement()])
    assert isinstance(aggregate_only, Refusal)
    assert "as person-level rows (agreement A-1 shares aggregates only)" in aggregate_only.message
    person_level = agreement(granularity="person_level", fields=frozenset({"person_token"}))
    assert isinstance(decide(coordinator, request, [person_level]), Plan)
    wider = DataRequest(kind="extract", agencies=("EMS",), columns=("person_token", "lat"))
    refused = decide(coordinator, wider, [person_level])
    assert isinstance(refused, Refusal)
    assert "with column lat (allowed: person_token)" in refused.message


def test_extract_area_columns_follow_the_layer_rules(coordinator: UserContext) -> None:
    a = agreement(granularity="person_level", finest_layer="beat", fields=frozenset({"age_band"}))
    request = DataRequest(
        kind="extract", agencies=("EMS",), columns=("age_band", "area_neighbourhood")
    )
    refused = decide(coordinator, request, [a])
    assert isinstance(refused, Refusal)
    assert "at layer neighbourhood (finest allowed: beat)" in refused.message
    coarse = decide(coordinator, DataRequest(**{**request.__dict__, "coarsen": True}), [a])
    assert isinstance(coarse, Plan)
    assert coarse.columns == ("age_band", "area_beat")


def test_consents_valid_now_are_collected_for_extracts(coordinator: UserContext) -> None:
    a = agreement(granularity="person_level", fields=frozenset({"person_token"}))

    def consent(cid: str, **kw) -> Consent:
        values = dict(
            id=cid,
            person_token=f"tok-{cid}",
            disclosing_agency="EMS",
            information="SUD treatment episodes",
            recipients=frozenset({"PH"}),
            purpose="public_health_surveillance",
            signed_on=date(2025, 1, 2),
            expires_on=date(2026, 1, 1),
        )
        values.update(kw)
        return Consent(**values)

    consents = [
        consent("ok"),
        consent("revoked", revoked_at=datetime(2025, 6, 1, tzinfo=UTC)),
        consent("revoked-later", revoked_at=datetime(2025, 7, 1, tzinfo=UTC)),
        consent("expired", expires_on=date(2025, 6, 14)),
        consent("other-purpose", purpose="research"),
        consent("other-recipient", recipients=frozenset({"MPD"})),
        consent("event", expires_on=None, expiry_event="end of treatment"),
    ]
    request = DataRequest(kind="extract", agencies=("EMS",), columns=("person_token",))
    result = decide(coordinator, request, [a], consents)
    assert isinstance(result, Plan)
    grant = result.grant_for("EMS")
    assert grant is not None
    assert grant.consented_tokens == frozenset({"tok-ok", "tok-revoked-later", "tok-event"})


def test_malformed_requests_name_the_field(analyst: UserContext) -> None:
    result = decide(analyst, DataRequest(period="fortnight", area_layer="tract", by=("colour",)))
    assert isinstance(result, Refusal)
    assert "field 'period': 'fortnight' is not one of" in result.message
    assert "area layer 'tract' is unknown (known layers: neighbourhood, beat, district)" in (
        result.message
    )
    assert "field 'by': colour not among" in result.message
