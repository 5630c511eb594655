"""Forms for signing in and for agency admins managing their users."""

from __future__ import annotations

from typing import Any

from django import forms

from wellbeat.web.accounts.models import HUB_ONLY_ROLES, Agency, Role


class LoginForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class TotpForm(forms.Form):
    code = forms.CharField(
        label="Six-digit code",
        min_length=6,
        max_length=7,
        help_text="The current code from your authenticator app.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9 ]{6,7}",
                "autofocus": True,
            }
        ),
    )

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"].replace(" ", "")
        if len(code) != 6 or not code.isdigit():
            raise forms.ValidationError("Enter the six digits shown in your authenticator app.")
        return code


def role_choices_for(agency: Agency | None) -> list[tuple[str, str]]:
    """Roles an agency's admin may give: hub-only roles appear only for the hub agency."""
    return [
        (value, str(label))
        for value, label in Role.choices
        if agency is not None and (agency.is_hub or value not in HUB_ONLY_ROLES)
    ]


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Roles marked with * see person-level data and must use a second factor.",
    )

    def __init__(self, *args: Any, agency: Agency | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = role_choices_for(agency)
        self.fields["roles"].choices = [
            (value, f"{label} *" if value in Role.PERSON_LEVEL else label)
            for value, label in choices
        ]


class NewUserForm(RolesForm):
    """No password field: the new user sets their own through the invitation link."""

    username = forms.CharField(max_length=150)
    full_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    field_order = ["username", "full_name", "email", "roles"]


class AcceptInvitationForm(forms.Form):
    """The invitee's own password, twice, and (when their roles need it) a code from the
    authenticator they are adding."""

    new_password1 = forms.CharField(
        label="New password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="At least 12 characters, not a common password, not like your username.",
    )
    new_password2 = forms.CharField(
        label="New password again",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args: Any, needs_code: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if needs_code:
            self.fields["code"] = TotpForm.base_fields["code"]

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"].replace(" ", "")
        if len(code) != 6 or not code.isdigit():
            raise forms.ValidationError("Enter the six digits shown in your authenticator app.")
        return code

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        first, second = cleaned.get("new_password1"), cleaned.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", "The two passwords differ.")
        return cleaned


class DeactivateForm(forms.Form):
    reason = forms.CharField(max_length=300, required=False, label="Reason (recorded in audit)")


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the token is for, e.g. 'CAD upload'.")
    scopes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, scopes: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [
            (name, f"{name}: {text}") for name, text in sorted(scopes.items())
        ]
