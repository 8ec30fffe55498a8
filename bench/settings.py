"""Production settings, unchanged, for the benchmark (run.sh supplies throwaway keys)."""

from breachdesk.settings.production import *  # noqa: F403
