from typing import Any

from django.db import migrations


def install(apps: Any, schema_editor: Any) -> None:
    from notifications.policy import install_policy

    install_policy(apps.get_model("notifications", "EscalationPolicy"), apps.get_model("notifications", "EscalationStep"))


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_deadline_decided_by_deadline_missed_at_and_more")]
    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
