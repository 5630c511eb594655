"""Forms of the care pages: they parse and validate; ``actions`` does the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from wellbeat.care.hsds import SERVICE_STATUSES
from wellbeat.care.measures import CallOutcome
from wellbeat.care.needs import needs
from wellbeat.care.sealing import MIN_PASSPHRASE_CHARS, ContactCard
from wellbeat.care.triage import Response
from wellbeat.web.care.models import PlaceType

COMMON_NEEDS = (
    "mental-health",
    "substance-use",
    "homelessness",
    "housing-instability",
    "inadequate-housing",
)
"""The needs officers and co-responders tick most (the crisis calls the care pages exist for),
listed first so they are found without scrolling; the other needs follow in their own order."""


def need_choices() -> list[tuple[str, str]]:
    every = needs()
    order = [code for code in COMMON_NEEDS if code in every]
    order += [code for code in every if code not in COMMON_NEEDS]
    return [(code, every[code].display) for code in order]


SEX_CHOICES = [("", "Not recorded"), ("female", "Female"), ("male", "Male"), ("unknown", "Unknown")]
TRISTATE = [("", "Not asked"), ("yes", "Yes"), ("no", "No")]


class EncounterForm(forms.Form):
    """A field contact, quick to fill on a phone: identity for the pseudonym (never stored),
    place, time, needs, crisis and consent to be referred."""

    first_name = forms.CharField(
        max_length=100, help_text="Used only to form the person's pseudonym; not stored."
    )
    last_name = forms.CharField(max_length=100)
    date_of_birth = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    sex = forms.ChoiceField(choices=SEX_CHOICES, required=False)
    occurred_at = forms.DateTimeField(
        label="When",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )
    place_type = forms.ChoiceField(label="Place", choices=PlaceType.choices)
    latitude = forms.FloatField(required=False, min_value=-90, max_value=90)
    longitude = forms.FloatField(
        required=False,
        min_value=-180,
        max_value=180,
        help_text="Optional; kept to about 100 m to find nearby services.",
    )
    needs = forms.MultipleChoiceField(
        label="Observed needs", choices=need_choices, widget=forms.CheckboxSelectMultiple
    )
    crisis = forms.BooleanField(label="This is a crisis", required=False)
    consent_to_refer = forms.BooleanField(
        label="The person agrees to be referred to services", required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault(
                "occurred_at", timezone.localtime().replace(second=0, microsecond=0)
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise forms.ValidationError("Give both latitude and longitude, or neither.")
        return data


CONTACT_METHOD_CHOICES = [
    ("any", "Any way"),
    ("phone", "Phone call"),
    ("text", "Text message"),
    ("in_person", "In person"),
]


class ContactForm(forms.Form):
    """Who the referral is for and how to reach them, for the receiving provider only: sealed
    to the provider's key on arrival and only if the person agrees; the hub cannot read it."""

    share_contact = forms.BooleanField(
        label="The person agrees that the service may have their name and contact details",
        required=False,
    )
    contact_name = forms.CharField(label="Name", max_length=200, required=False)
    contact_phone = forms.CharField(
        label="Phone",
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    contact_method = forms.ChoiceField(
        label="Preferred contact", choices=CONTACT_METHOD_CHOICES, required=False
    )
    contact_time = forms.CharField(label="Best time to reach them", max_length=100, required=False)
    contact_address = forms.CharField(
        label="Address or where to find them (optional)", max_length=300, required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("share_contact") and not (data.get("contact_name") or "").strip():
            raise forms.ValidationError(
                "Give the person's name, or untick their agreement to share contact details."
            )
        return data

    def card(self) -> ContactCard | None:
        """The contact card to seal, or None when the person did not agree or gave nothing."""
        data = self.cleaned_data
        if not data.get("share_contact"):
            return None
        return ContactCard(
            name=data["contact_name"].strip(),
            phone=data["contact_phone"].strip(),
            contact_method=data["contact_method"] or "any",
            contact_time=data["contact_time"].strip(),
            address=data["contact_address"].strip(),
        )


class KeyCreateForm(forms.Form):
    passphrase = forms.CharField(
        min_length=MIN_PASSPHRASE_CHARS,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=(
            f"At least {MIN_PASSPHRASE_CHARS} characters. Give it only to your clinicians and "
            "care coordinators. The hub does not keep it: if it is lost, cards sealed to your "
            "keys cannot be opened by anyone."
        ),
    )
    confirm = forms.CharField(
        label="Passphrase again",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("passphrase") and data.get("passphrase") != data.get("confirm"):
            raise forms.ValidationError("The two passphrases differ.")
        return data


class PassphraseChangeForm(KeyCreateForm):
    field_order = ["current", "passphrase", "confirm"]

    current = forms.CharField(
        label="Current passphrase",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class UnlockForm(forms.Form):
    passphrase = forms.CharField(
        label="Agency passphrase",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class DirectorySearchForm(forms.Form):
    """Find a service: every criterion given must hold."""

    needs = forms.MultipleChoiceField(
        choices=need_choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    text = forms.CharField(label="Words", required=False, max_length=100)
    language = forms.CharField(
        required=False, max_length=40, help_text="ISO code or name, e.g. es or Spanish"
    )
    latitude = forms.FloatField(required=False, min_value=-90, max_value=90)
    longitude = forms.FloatField(required=False, min_value=-180, max_value=180)
    within_km = forms.FloatField(label="Within (km)", required=False, min_value=0.1)
    open_now = forms.BooleanField(label="Open now", required=False)
    accepting = forms.BooleanField(label="Accepting referrals", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise forms.ValidationError("Give both latitude and longitude, or neither.")
        if data.get("within_km") and data.get("latitude") is None:
            raise forms.ValidationError("A distance needs a point: give latitude and longitude.")
        return data


class ServiceUpdateForm(forms.Form):
    """What a provider keeps current about its own service."""

    status = forms.ChoiceField(choices=[(s, s.capitalize()) for s in SERVICE_STATUSES])
    accepting_referrals = forms.BooleanField(required=False)
    first_contact_hours = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1440,
        help_text="Hours within which you promise first contact after a referral.",
    )
    alert = forms.CharField(
        required=False, max_length=300, help_text="A short notice shown with the entry."
    )


class StatusForm(forms.Form):
    status = forms.CharField(max_length=20)
    reason = forms.CharField(required=False, max_length=500)


class ResolveForm(forms.Form):
    resolution = forms.CharField(max_length=500, label="What was done")


class TriageForm(forms.Form):
    """A 911 call as the call taker knows it; the narrative is matched and then discarded."""

    call_type = forms.CharField(
        max_length=32, required=False, help_text="APCO type (EDP, WELFARE...) or local code"
    )
    dispatch_code = forms.CharField(
        label="NEMSIS dispatch code", max_length=16, required=False, help_text="e.g. 2301059"
    )
    narrative = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Matched against the rules' keywords; not stored.",
    )
    weapon = forms.ChoiceField(label="Weapon present?", choices=TRISTATE, required=False)
    violence = forms.ChoiceField(label="Violence?", choices=TRISTATE, required=False)
    medical = forms.ChoiceField(label="Medical emergency?", choices=TRISTATE, required=False)
    area = forms.CharField(max_length=64, required=False)


class CallResponseForm(forms.Form):
    actual_response = forms.ChoiceField(
        label="Response sent", choices=[(r.value, r.label) for r in Response]
    )
    outcome = forms.ChoiceField(choices=[(o.value, o.label) for o in CallOutcome])


def tristate(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)
