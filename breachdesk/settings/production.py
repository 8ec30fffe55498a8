"""Production settings: refuse to start with debug on or without a real secret."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DEBUG, PSEUDONYM_KEY, PSEUDONYM_KEYS, SECRET_KEY, env, logging_config

if DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production.")
if len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5 or SECRET_KEY.startswith(("django-insecure", "dev-only")):
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of at least 50 characters in production.")
if PSEUDONYM_KEYS:
    _versions = [part.partition(":") for part in PSEUDONYM_KEYS.split(",") if part.strip()]
    if not _versions or any(not v.strip().isdigit() or not sep or len(key) < 32 for v, sep, key in _versions):
        raise ImproperlyConfigured("PSEUDONYM_KEYS must be <version>:<key> pairs, each key at least 32 characters.")
elif len(PSEUDONYM_KEY) < 32:
    raise ImproperlyConfigured("PSEUDONYM_KEY must be set to a random value of at least 32 characters.")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)

# One JSON object a line for the log store, unless LOG_FORMAT says otherwise.
LOGGING = logging_config(env.str("LOG_FORMAT", default="json"))
