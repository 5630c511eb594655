"""Logging filters named in settings.LOGGING (imported while Django configures logging, so
this module imports nothing of the web app)."""

from __future__ import annotations

import logging


class NoTracebackForClientErrors(logging.Filter):
    """Keeps Django's one-line log of a refused request (``Forbidden (Permission denied): /x``)
    but drops the traceback it attaches: a 4xx is an expected answer, not a fault. Server
    errors keep theirs. Installed on the ``django.request`` logger (settings.LOGGING)."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if isinstance(status, int) and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
