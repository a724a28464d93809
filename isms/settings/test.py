"""Settings of the test suite (pyproject.toml, [tool.pytest.ini_options]): the portal's
settings (isms/settings/base.py) with what tests need and a deployment must not have. Every
process a test starts inherits DJANGO_SETTINGS_MODULE, and with it these."""

from isms.settings.base import *  # noqa: F403
from isms.settings.base import (
    DEVELOPMENT_SECRET_KEY,
    SECRET_KEY,
    STORAGES,
    env,
    https_settings,
)

# Tests need no production secret...
SECRET_KEY = SECRET_KEY or DEVELOPMENT_SECRET_KEY
# ... serve static files from the apps' directories, with no collectstatic before them ...
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# ... and talk plain HTTP to the test client and the live server, unless HTTPS=1 says so.
vars().update(https_settings(env.bool("HTTPS", default=False)))
