"""The auditor's filter form."""

from __future__ import annotations

from typing import Any

from django import forms

from wellbeat.web.audit.queries import AuditFilter


class AuditFilterForm(forms.Form):
    who = forms.CharField(required=False, label="User", help_text="Exact username.")
    agency = forms.CharField(required=False, label="Agency", help_text="Agency code, e.g. MPD.")
    action = forms.CharField(
        required=False, label="Action", help_text="Prefix, e.g. 'login' or 'agreement'."
    )
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "'To' must be on or after 'From'.")
        return data

    def to_filter(self) -> AuditFilter:
        data = self.cleaned_data
        return AuditFilter(
            who=data.get("who") or "",
            agency=data.get("agency") or "",
            action=data.get("action") or "",
            since=data.get("since"),
            until=data.get("until"),
        )
