"""The indicator builder and the catalogue upload. The builder's fields become one catalogue
mapping (``definitions.definition_from_fields``) which the catalogue's parser judges; its
field-named error is shown next to the field it names."""

from __future__ import annotations

from typing import Any

from django import forms

from wellbeat.analytics.indicators.catalogue import FACTORS, IndicatorError
from wellbeat.events.schema import Kind
from wellbeat.governance import PERIODS
from wellbeat.governance.agreements import PURPOSES
from wellbeat.web.indicators.definitions import (
    CONDITION_ROWS,
    definition_from_fields,
    form_field_for,
)

MAX_UPLOAD_BYTES = 1_000_000


class IndicatorForm(forms.Form):
    code = forms.CharField(
        max_length=64,
        required=False,
        help_text="Lower-case letters, digits and _, starting with a letter (e.g. stops_by_race).",
    )
    name = forms.CharField(max_length=200, required=False)
    description = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What is counted and why; the catalogue requires it.",
    )
    kinds = forms.MultipleChoiceField(
        choices=[(k.value, k.value.replace("_", " ")) for k in Kind],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Event kinds (any of)",
    )
    codes = forms.CharField(
        required=False,
        label="Codes (any of)",
        help_text="namespace:code, separated by commas; a trailing * matches a prefix "
        "(e.g. nibrs:13A, icd10cm:T40*). Leave empty for any code.",
    )
    denominator = forms.ChoiceField(required=False, label="Denominator")
    factor = forms.ChoiceField(
        choices=[(str(f), f"{f:,}") for f in FACTORS],
        initial="1",
        help_text="Rate = count / denominator x factor (1 for a ratio, 100 for per cent).",
    )
    period = forms.ChoiceField(
        choices=[(p, p.replace("_", " ")) for p in PERIODS], initial="month", label="Default period"
    )
    by = forms.CharField(
        required=False,
        max_length=64,
        label="Break down by",
        help_text="An attribute name (e.g. race, force_type, stop_type), or sex or age_band; "
        "empty for none. Another agency's breakdown by an attribute needs its agreement to "
        "name attribute:NAME.",
    )
    purpose = forms.ChoiceField(
        choices=sorted(PURPOSES.items()),
        initial="public_health_surveillance",
        help_text="Why you read the data: agreements with other agencies are for a purpose.",
    )

    def __init__(self, *args: Any, denominators: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["denominator"].choices = [
            ("", "None (counts only)"),
            ("population", "Population (the hub's first area layer)"),
            *[(f"indicator:{code}", f"Indicator: {name} ({code})") for code, name in denominators],
        ]
        for i in range(1, CONDITION_ROWS + 1):
            self.fields[f"attribute_{i}"] = forms.CharField(
                required=False, max_length=64, label=f"Attribute condition {i}: name"
            )
            self.fields[f"values_{i}"] = forms.CharField(
                required=False,
                label=f"Attribute condition {i}: equals one of",
                help_text="Values separated by commas (e.g. true, or black, hispanic)."
                if i == 1
                else "",
            )

    def definition(self) -> dict[str, Any]:
        return definition_from_fields(self.cleaned_data)

    def show_error(self, error: IndicatorError, definition: dict[str, Any]) -> None:
        """Put the catalogue's message next to the field it names (or above the form)."""
        message = (
            str(error).split(": ", 1)[1]
            if error.field_name is None
            else (
                f"{error.field_name}: " + str(error).rsplit(f"field {error.field_name!r}: ", 1)[-1]
            )
        )
        target = "purpose" if error.field_name == "purpose" else form_field_for(error, definition)
        self.add_error(target if target in self.fields else None, message)


class ImportForm(forms.Form):
    catalogue = forms.FileField(
        label="Catalogue file (YAML)",
        help_text="A catalogue as docs/indicators.md describes it; every entry is validated "
        "and all are saved, or none.",
    )
    purpose = forms.ChoiceField(
        choices=sorted(PURPOSES.items()), initial="public_health_surveillance"
    )

    def clean_catalogue(self) -> Any:
        upload = self.cleaned_data["catalogue"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"at most {MAX_UPLOAD_BYTES:,} bytes")
        return upload
