"""WSGI entry point (gunicorn oncall.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")

application = get_wsgi_application()
