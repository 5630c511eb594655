"""Alerts with their signals and history, spike thresholds, subscriptions and deliveries.

State changes go through ``wellbeat.web.surveillance.actions`` (each writes the audit row)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


class AlertStatus(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    INVESTIGATING = "investigating", "Investigating"
    CLOSED = "closed", "Closed"


class AlertKind(models.TextChoices):
    ABERRATION = "aberration", "Aberration"
    SPIKE = "spike", "Threshold spike"
    DATA_QUALITY = "data_quality", "Data quality"


class Alert(models.Model):
    """One episode: a run of signals for one indicator, area and method (or a data-quality
    problem of one source). ``agencies`` are the providers whose events made the signal."""

    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    indicator = models.CharField(max_length=64)
    indicator_label = models.CharField(max_length=200)
    purpose = models.CharField(max_length=64, blank=True, default="")
    layer = models.CharField(max_length=64, blank=True, default="")
    area = models.CharField(max_length=64, blank=True, default="")
    area_name = models.CharField(max_length=200, blank=True, default="")
    neighbours = models.JSONField(default=list, blank=True)
    method = models.CharField(max_length=32)
    agencies = models.JSONField(default=list, blank=True)
    source_agency = models.ForeignKey(
        "accounts.Agency", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=AlertStatus.choices, default="new")
    started_on = models.DateField()
    last_signal_on = models.DateField()
    observed = models.FloatField(default=0)
    expected = models.FloatField(null=True, blank=True)
    upperbound = models.FloatField(null=True, blank=True)
    threshold = models.IntegerField(null=True, blank=True)
    summary = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_signal_on", "-pk"]
        indexes = [models.Index(fields=["indicator", "layer", "area", "method", "status"])]

    def __str__(self) -> str:
        return f"alert {self.pk}: {self.indicator_label} in {self.area_name or self.area}"

    @property
    def is_open(self) -> bool:
        return self.status != AlertStatus.CLOSED


class AlertSignal(models.Model):
    """A signal folded into an alert; ``key`` is unique, so no signal is raised twice."""

    key = models.CharField(max_length=300, unique=True)
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="signals")
    period = models.DateField()
    observed = models.FloatField()
    expected = models.FloatField(null=True, blank=True)
    upperbound = models.FloatField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True)
    detected_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["period"]


class AlertEvent(models.Model):
    """An alert's history: raised, extended, each transition with who, when and the note."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    note = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["at", "pk"]


class SpikeThreshold(models.Model):
    """The number of events in one day that raises a spike in an area, set by an admin."""

    indicator = models.CharField(max_length=64)
    layer = models.CharField(max_length=64)
    area = models.CharField(max_length=64)
    threshold = models.PositiveIntegerField()
    agency = models.ForeignKey("accounts.Agency", on_delete=models.PROTECT, related_name="+")
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "layer", "area"], name="one_threshold_per_area_indicator"
            )
        ]


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Signed webhook"


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


class Subscription(models.Model):
    """What alerts a user wants delivered and where. Empty ``indicator``/``method`` and an
    empty ``areas`` list mean "any"."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_subscriptions"
    )
    indicator = models.CharField(max_length=64, blank=True, default="")
    areas = models.JSONField(default=list, blank=True)
    method = models.CharField(max_length=32, blank=True, default="")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    target = models.CharField(max_length=500, help_text="Email address or webhook URL")
    secret = models.CharField(max_length=64, default=new_webhook_secret)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def matches(self, alert: Alert) -> bool:
        return (
            (not self.indicator or self.indicator == alert.indicator)
            and (not self.method or self.method == alert.method)
            and (not self.areas or alert.area in self.areas)
        )


class DeliveryStatus(models.TextChoices):
    """A delivery's place in the queue (``wellbeat.web.surveillance.delivery``)."""

    PENDING = "pending", "Queued"
    SENDING = "sending", "Sending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    """One alert to send on one subscription: a row of the delivery queue. Detection only
    writes it (``pending``); a worker claims it (``sending``, ``next_attempt_at`` then holds
    the claim's expiry), sends it, and records ``delivered``, ``retrying`` (with the error and
    when it is tried again) or, after the last attempt, ``failed`` with the last error."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default="pending")
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "alert"], name="one_delivery_per_alert")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_queue")]
