"""WSGI entry point used by gunicorn (`wellbeat serve`)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wellbeat.web.settings")

application = get_wsgi_application()
