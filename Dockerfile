FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
RUN pip install --no-cache-dir -c constraints.txt .
COPY . .
RUN useradd --create-home breachdesk && mkdir -p var && chown -R breachdesk var
USER breachdesk
RUN DJANGO_SETTINGS_MODULE=breachdesk.settings.dev python manage.py collectstatic --noinput
EXPOSE 8000
