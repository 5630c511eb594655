"""The one base class of every refusal the web app raises, in the JSON API's error shape.

An action function (``web/<app>/actions``) that will not do what it was asked raises an
``ActionError``: a stable machine-readable ``code``, a human ``message`` naming the field or the
rule, optional ``details``, and the HTTP status the code means. Views show the message; the
JSON API answers ``{"error": {"code", "message", "details"}}`` with that status (the handler in
``wellbeat.web.api.errors`` is registered for ``ActionError``, so every subclass gets the shape).

The subclasses, one per app: ``wellbeat.web.api.errors.ApiError`` (raised by endpoints
themselves), ``accounts.actions.AccountError`` / ``NotAllowed``, ``care.actions.CareError``,
``governance.actions.GovernanceError``, ``surveillance.actions.AlertError`` and
``indicators.actions.IndicatorDenied``. Integrity failures that are not a refusal of someone's
request (an edited audit row, an unreadable signing key) stay ``RuntimeError``s.

Framework-free: importing this module imports neither Django nor Ninja.
"""

from __future__ import annotations

from typing import Any, ClassVar

STATUS_BY_CODE: dict[str, int] = {
    "forbidden": 403,
    "consent_required": 403,
    "not_found": 404,
    "conflict": 409,
    "invalid": 422,
}
"""The HTTP status each refusal code means, wherever it is raised."""


class ActionError(Exception):
    """A refused request: ``code``, ``message``, ``details`` and the HTTP ``status``.

    ``status`` defaults to what the code means (``STATUS_BY_CODE``), else the class's
    ``DEFAULT_STATUS``."""

    DEFAULT_STATUS: ClassVar[int] = 400

    def __init__(
        self,
        code: str,
        message: str,
        details: dict[str, Any] | list[Any] | None = None,
        *,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: Any = details if details is not None else {}
        self.status = (
            status if status is not None else STATUS_BY_CODE.get(code, self.DEFAULT_STATUS)
        )

    @property
    def http_status(self) -> int:
        return self.status

    def shape(self) -> dict[str, Any]:
        """The JSON API's error body."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}
