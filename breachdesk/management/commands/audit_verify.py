from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from breachdesk.audit import audit_verify, checkpoints_from_file


class Command(BaseCommand):
    help = (
        "Recompute the audit trail's hash chain and hold it to the signed checkpoints; "
        "exit non-zero naming the first bad event."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoints",
            type=Path,
            help="A copy of AUDIT_CHECKPOINT_FILE kept elsewhere: its checkpoints are checked too.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        extra = []
        if options["checkpoints"] is not None:
            try:
                extra = checkpoints_from_file(options["checkpoints"])
            except (OSError, ValueError, KeyError) as error:
                raise CommandError(f"Cannot read the checkpoints file: {error}") from None
        result = audit_verify(checkpoints=extra)
        if not result.ok:
            raise CommandError(
                f"Audit chain broken after checking {result.events} events: first bad event id "
                f"{result.first_bad} ({result.reason})."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {result.events} events, {result.checkpoints} signed checkpoints agree."
            )
        )
