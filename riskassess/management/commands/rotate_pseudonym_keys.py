"""Re-key the stored tokens of lost data sets after a new key is added to PSEUDONYM_KEYS.

Rotation: add the new key with the next version at the end of PSEUDONYM_KEYS (keeping the
old ones), restart web and worker, then run this command. From then on a copy of any one
key, the old one included, cannot test guesses against what is stored.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from riskassess.datasets import datasets_rekey
from riskassess.pseudonym import keyring


class Command(BaseCommand):
    help = "Bring every processed lost data set's tokens up to the newest pseudonym key."

    def handle(self, *args: Any, **options: Any) -> None:
        ring = keyring()
        done = datasets_rekey()
        for dataset, rows in done:
            self.stdout.write(f"Data set {dataset.pk} ({dataset.incident.reference}): {rows} rows re-keyed.")
        self.stdout.write(
            self.style.SUCCESS(f"{len(done)} data set(s) re-keyed; every processed data set is at key {ring.version}.")
        )
