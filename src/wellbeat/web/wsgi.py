"""WSGI entry point used by gunicorn (`wellbeat serve`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wellbeat.web.settings")
os.umask(0o077)  # files the hub writes (SQLite journal, lake, checkpoints) are owner-only

application = get_wsgi_application()
