"""The Celery application. Beat runs a static schedule defined here (no database scheduler)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "breachdesk.settings.dev")

app = Celery("breachdesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


app.conf.beat_schedule = {
    "heartbeat": {"task": "breachdesk.tasks.heartbeat_task", "schedule": 30.0},
    # The robust path for every timer (DESIGN.md): claim due rows every few seconds.
    "timers-sweep": {
        "task": "notifications.tasks.timers_sweep_task",
        "schedule": float(os.environ.get("TIMER_SWEEP_SECONDS", "2")),
        "options": {"expires": 30},
    },
}
