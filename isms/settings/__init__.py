"""The portal's settings, DJANGO_SETTINGS_MODULE=isms.settings (manage.py, the web and
Celery processes, the Dockerfile, bin/demo): those of isms/settings/base.py. The test suite
runs with isms.settings.test."""

from isms.settings.base import *  # noqa: F403
