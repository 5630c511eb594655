"""Forms of the governance pages: they parse and validate; actions do the work."""

from __future__ import annotations

from typing import Any

from django import forms

from wellbeat.events.schema import Kind, Sector
from wellbeat.governance import (
    ATTRIBUTE_BY_PREFIX,
    DataRequest,
    attribute_dimension,
    valid_attribute_dimension,
)
from wellbeat.governance.agreements import AGGREGATE_DIMENSIONS, PURPOSES
from wellbeat.governance.resolution import PERIODS
from wellbeat.web.accounts.models import Agency, Role

SYNDROME_CHOICES = [
    (s, s.replace("_", " "))
    for s in (
        "overdose",
        "opioid_overdose",
        "stimulant_overdose",
        "assault_injury",
        "firearm_injury",
        "self_harm",
        "mental_health_crisis",
        "alcohol_intoxication",
        "homelessness",
        "domestic_violence",
    )
]
PURPOSE_CHOICES = list(PURPOSES.items())
PERIOD_CHOICES = [(p, p.replace("_", " ")) for p in PERIODS]
EXTRACT_FIELD_CHOICES = [
    (f, f)
    for f in (
        "event_id",
        "sector",
        "kind",
        "occurred_at",
        "reported_at",
        "codes",
        "syndromes",
        "person_token",
        "age_band",
        "sex",
        "attributes",
        "sensitivity",
        "h3",
        "lat",
        "lon",
    )
]


class AgreementDraftForm(forms.Form):
    """Everything an agreement says; blank scope boxes mean "any"."""

    title = forms.CharField(max_length=200, required=False, help_text="A short name both sides use")
    provider = forms.ModelChoiceField(Agency.objects.all(), to_field_name="code")
    recipient = forms.ModelChoiceField(Agency.objects.all(), to_field_name="code")
    purpose = forms.ChoiceField(choices=PURPOSE_CHOICES)
    granularity = forms.ChoiceField(
        choices=[
            ("aggregate", "Aggregates only (suppressed counts)"),
            ("person_level", "Person-level pseudonymous rows (re-keyed per agreement)"),
        ]
    )
    sectors = forms.MultipleChoiceField(
        choices=[(s.value, s.value) for s in Sector],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any sector",
    )
    kinds = forms.MultipleChoiceField(
        choices=[(k.value, k.value) for k in Kind],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any kind",
    )
    syndromes = forms.MultipleChoiceField(
        choices=SYNDROME_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any syndrome",
    )
    fields = forms.MultipleChoiceField(
        choices=[*EXTRACT_FIELD_CHOICES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Columns of person-level extracts; sex and age_band also allow breakdowns",
    )
    attribute_fields = forms.CharField(
        max_length=500,
        required=False,
        label="Shared event attributes",
        help_text="Attributes the recipient may filter and break counts down by, comma-separated "
        "(e.g. precinct, problem, race): each becomes the field attribute:<name>. Race and "
        "ethnicity are shared only when named here",
    )
    recipient_roles = forms.MultipleChoiceField(
        choices=Role.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every role of the recipient agency",
    )
    finest_layer = forms.CharField(
        max_length=64, required=False, help_text="Finest area layer, e.g. beat; blank: no places"
    )
    finest_period = forms.ChoiceField(
        choices=[("", "no breakdown by time"), *PERIOD_CHOICES], required=False
    )
    min_cell = forms.IntegerField(
        min_value=1, initial=10, label="Minimum cell size (k)", help_text="Counts 1..k-1 hidden"
    )
    valid_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    valid_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_attribute_fields(self) -> list[str]:
        """``precinct, attribute:race`` -> ``["attribute:precinct", "attribute:race"]``."""
        raw = self.cleaned_data.get("attribute_fields") or ""
        out: list[str] = []
        for item in (x.strip() for x in raw.replace("\n", ",").split(",")):
            if not item:
                continue
            dimension = item if item.startswith(ATTRIBUTE_BY_PREFIX) else attribute_dimension(item)
            if not valid_attribute_dimension(dimension):
                raise forms.ValidationError(
                    f"{item!r} is not an attribute name (expected [a-z][a-z0-9_]*, e.g. precinct)"
                )
            out.append(dimension)
        return sorted(set(out))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("provider") and data.get("provider") == data.get("recipient"):
            self.add_error("recipient", "The recipient must be another agency.")
        # One list of agreement fields: the ticked columns and the shared attributes.
        data["fields"] = sorted({*(data.get("fields") or []), *data.pop("attribute_fields", [])})
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ConsentForm(forms.Form):
    """The 42 CFR 2.31 elements the hub keeps (the signed form stays with the program)."""

    person_token = forms.CharField(
        max_length=128, label="Patient pseudonym", help_text="The person token in your batches"
    )
    information = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Information to be disclosed",
        help_text="A specific description, e.g. 'SUD treatment episodes and medications, 2025'",
    )
    recipients = forms.ModelMultipleChoiceField(
        Agency.objects.all(), to_field_name="code", widget=forms.CheckboxSelectMultiple
    )
    purpose = forms.ChoiceField(choices=PURPOSE_CHOICES)
    signed_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    expires_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    expiry_event = forms.CharField(max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("expires_on") and not (data.get("expiry_event") or "").strip():
            self.add_error("expires_on", "Part 2 requires an expiry date or an expiry event.")
        return data


class GovernedQueryForm(forms.Form):
    """The governed query page: an indicator (syndrome), an area layer and a period."""

    purpose = forms.ChoiceField(choices=PURPOSE_CHOICES)
    agencies = forms.MultipleChoiceField(
        choices=[],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: your agency and every provider you may read",
    )
    syndrome = forms.ChoiceField(choices=[("", "all events"), *SYNDROME_CHOICES], required=False)
    area_layer = forms.ChoiceField(choices=[], required=False)
    period = forms.ChoiceField(choices=[("", "whole range"), *PERIOD_CHOICES], required=False)
    by = forms.MultipleChoiceField(
        choices=[(d, d.replace("_", " ")) for d in AGGREGATE_DIMENSIONS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Break down by",
    )
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Exclusive: the first day not counted",
    )
    coarsen = forms.BooleanField(
        required=False, label="Coarsen place and time to what the agreements allow"
    )

    def __init__(self, *args: Any, agencies: list[str], layers: list[str], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fields["agencies"].choices = [(a, a) for a in agencies]
        self.fields["area_layer"].choices = [("", "no breakdown by place")] + [
            (layer, layer) for layer in layers
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start >= end:
            self.add_error("end", "The end date must be after the start date.")
        return data

    def to_request(self) -> DataRequest:
        data = self.cleaned_data

        return DataRequest(
            kind="aggregate",
            agencies=tuple(data["agencies"]) or None,
            syndromes=(data["syndrome"],) if data.get("syndrome") else None,
            area_layer=data.get("area_layer") or None,
            period=data.get("period") or None,
            by=tuple(data.get("by") or ()),
            start=data.get("start"),  # dates: local days of the hub (docs/engine.md)
            end=data.get("end"),
            coarsen=bool(data.get("coarsen")),
        )
