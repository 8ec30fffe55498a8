from typing import Any

from django.core.management.base import BaseCommand, CommandError

from breachdesk.audit import audit_verify


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain; exit non-zero naming the first bad event."

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_verify()
        if not result.ok:
            raise CommandError(
                f"Audit chain broken after checking {result.events} events: first bad event id "
                f"{result.first_bad} ({result.reason})."
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {result.events} events."))
