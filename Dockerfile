FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# WeasyPrint draws the reports with Pango; Liberation Sans has Arial's metrics.
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml constraints.txt README.md ./
RUN pip install --no-cache-dir -c constraints.txt .
COPY . .
RUN useradd --create-home breachdesk && mkdir -p var && chown -R breachdesk var
USER breachdesk
# Collected under the production settings, so the manifest the production storage reads is
# built here; the two keys are build-time placeholders, never used at run time.
RUN DJANGO_SETTINGS_MODULE=breachdesk.settings.production \
    SECRET_KEY=build-only-collectstatic-placeholder-key-not-used-at-runtime-0123456789 \
    PSEUDONYM_KEY=build-only-collectstatic-placeholder-0123456789 \
    python manage.py collectstatic --noinput
EXPOSE 8000
