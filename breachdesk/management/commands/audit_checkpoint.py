from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from breachdesk.audit import audit_checkpoint


class Command(BaseCommand):
    help = (
        "Sign the audit chain's head now and append it to AUDIT_CHECKPOINT_FILE (beat does this daily); "
        "copy that file somewhere the database's administrators cannot write."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint = audit_checkpoint()
        self.stdout.write(
            self.style.SUCCESS(
                f"Checkpoint at event #{checkpoint.seq} ({checkpoint.hash[:16]}…), "
                f"appended to {settings.AUDIT_CHECKPOINT_FILE}."
            )
        )
