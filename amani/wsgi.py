"""WSGI entry point (gunicorn amani.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "amani.settings")

application = get_wsgi_application()
