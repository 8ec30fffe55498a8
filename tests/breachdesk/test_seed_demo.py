import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from breachdesk.audit import audit_verify
from breachdesk.choices import NATIONAL_LIST_ROLES
from breachdesk.models import OrgUnit, RoleAssignment
from notifications.models import EscalationPolicy
from tests.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.django_db

USERNAMES = {"reporter", "manager", "isr", "isim", "chief", "scs", "dpo", "siro", "press", "reporter2", "manager2"}


def test_seed_demo_builds_the_organisation_of_the_api_contract(org):
    levels = list(OrgUnit.objects.values_list("level", flat=True))
    assert levels.count("national") == 1
    assert levels.count("region") == 1
    assert levels.count("area") == 2
    assert levels.count("unit") == 4
    for area in OrgUnit.objects.filter(level="area"):
        assert area.children.filter(level="unit").count() == 2
    assert set(User.objects.values_list("username", flat=True)) >= USERNAMES
    for role in NATIONAL_LIST_ROLES:  # PC02-8: someone holds every role of the national list
        assert RoleAssignment.objects.filter(role=role).exists(), role
    assert EscalationPolicy.objects.get(is_default=True).steps.count() == 3
    for user in User.objects.all():
        assert user.email == f"{user.username}@example.org"
        assert user.check_password(DEMO_PASSWORD)
        assert RoleAssignment.objects.filter(user=user).exists()
    assert org["reporter"].profile.line_manager == org["manager"]
    assert org["reporter2"].profile.unit.parent != org["reporter"].profile.unit.parent  # another area


def test_seed_demo_is_idempotent(org):
    counts = (OrgUnit.objects.count(), User.objects.count(), RoleAssignment.objects.count())
    call_command("seed_demo", verbosity=0)
    assert (OrgUnit.objects.count(), User.objects.count(), RoleAssignment.objects.count()) == counts
    assert audit_verify().ok


def test_seed_demo_prints_a_generated_password_once(db, monkeypatch, capsys):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("seed_demo")
    first = capsys.readouterr().out
    assert "shown once" in first
    password = first.rsplit(": ", 1)[1].strip()
    assert User.objects.get(username="siro").check_password(password)
    call_command("seed_demo")
    assert password not in capsys.readouterr().out


def test_unit_paths_follow_the_tree(org):
    unit = OrgUnit.objects.get(code="NE-TYNE-NCL")
    assert unit.path == "/NAT/NE/NE-TYNE/NE-TYNE-NCL/"
    area = OrgUnit.objects.get(code="NE-TYNE")
    area.parent = OrgUnit.objects.get(code="NAT")
    area.save()
    unit.refresh_from_db()
    assert unit.path == "/NAT/NE-TYNE/NE-TYNE-NCL/"
