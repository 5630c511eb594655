"""An agency's own indicators, stored as the catalogue mapping they were validated as.

``definition`` is exactly one entry of a catalogue file (docs/indicators.md, "Catalogue
format"), so what the web builder saves and what a YAML file holds are one format, validated by
one parser (``wellbeat.analytics.indicators.catalogue``). State changes go through
``wellbeat.web.indicators.actions`` (each writes the audit row)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class CustomIndicator(models.Model):
    agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.CASCADE, related_name="custom_indicators"
    )
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    definition = models.JSONField(
        help_text="One catalogue entry (code, name, description, numerator, ...)."
    )
    by = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="Breakdown the page opens with (attribute:NAME; empty: none).",
    )
    purpose = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["agency__code", "name", "code"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "code"], name="custom_indicator_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.agency.code}:{self.code}"
