"""Test settings: development defaults with a fast password hasher."""

from .dev import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Serve static files from the app folders without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Unit tests fire timers by calling the sweep themselves; their ETA wake-ups go to an
# in-memory broker nothing consumes. The integration tests start a real worker on Redis.
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}
SERVICE_BASE_URL = "http://testserver"
# Django's test client signs in without a request, which django-axes refuses; the lockout
# itself is tested with it switched on (tests/breachdesk/test_audit.py).
AXES_ENABLED = False
# Most tests sign people in with the test client and no authenticator app; the second
# factor itself is tested with it switched on (tests/breachdesk/test_second_factor.py).
SECOND_FACTOR_REQUIRED = False
