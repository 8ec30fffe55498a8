"""Changes made in the admin are audited: who changed whose line manager, roles and
alternates, the organisation's units and the escalation policies, with before and after."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import User
from django.test import Client

from breachdesk.audit import audit_verify
from breachdesk.models import AuditEvent, OrgUnit, Profile, RoleAssignment
from notifications.models import EscalationPolicy

pytestmark = pytest.mark.django_db


class _Form(HTMLParser):
    """The fields of the admin's change form as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str | list[str]] = {}
        self._select: str | None = None
        self._multiple = False
        self._textarea: str | None = None
        self._in_form = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id", "").endswith("_form"):
            self._in_form = True
        if not self._in_form or ("name" not in a and tag != "option"):
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in {"submit", "button", "file"}:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self.data[a["name"]] = a.get("value", "on")
                return
            self.data[a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select, self._multiple = a["name"], "multiple" in a
            self.data.setdefault(a["name"], [] if self._multiple else "")
        elif tag == "option" and self._select and "selected" in a:
            if self._multiple:
                value = self.data[self._select]
                assert isinstance(value, list)
                value.append(a.get("value", ""))
            else:
                self.data[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.data[a["name"]] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] = str(self.data[self._textarea]) + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def form_data(client: Client, url: str) -> dict[str, str | list[str]]:
    page = client.get(url)
    assert page.status_code == 200
    parser = _Form()
    parser.feed(page.content.decode())
    return parser.data


@pytest.fixture
def admin(org):
    return User.objects.create_superuser("admin", "admin@example.org", "an-admin-password-1")


@pytest.fixture
def client(admin):
    client = Client()
    client.force_login(admin)
    return client


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def test_a_line_manager_changed_in_the_admin_is_audited(org, admin, client):
    # given the reporter, whose line manager is the manager
    reporter, new_manager = org["reporter"], org["isim"]
    assert reporter.profile.line_manager == org["manager"]
    url = f"/admin/auth/user/{reporter.pk}/change/"
    data = form_data(client, url)
    data["profile-0-line_manager"] = str(new_manager.pk)
    # when an administrator changes it
    response = client.post(url, data)
    # then it is changed, and the trail says who changed what from what
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Profile.objects.get(user=reporter).line_manager == new_manager
    [event] = events("profile.changed")
    assert event.actor_username == "admin"
    assert event.before == {"line_manager_id": org["manager"].pk}
    assert event.after == {"line_manager_id": new_manager.pk, "via": "admin"}
    # and nothing else on the page was recorded as changed; no password reached the trail
    assert not events("user.changed")
    assert not AuditEvent.objects.filter(after__password__isnull=False).exclude(after__password="(set)").exists()
    assert audit_verify().ok


def test_saving_the_form_unchanged_records_nothing(org, client):
    url = f"/admin/auth/user/{org['reporter'].pk}/change/"
    before = AuditEvent.objects.count()
    assert client.post(url, form_data(client, url)).status_code == 302
    assert AuditEvent.objects.count() == before


def test_roles_added_and_removed_in_the_admin_are_audited(org, client):
    unit = OrgUnit.objects.get(code="NE-TYNE-NCL")
    # when a role is added
    response = client.post(
        "/admin/breachdesk/roleassignment/add/", {"user": org["press"].pk, "role": "isr", "unit": unit.pk}
    )
    assert response.status_code == 302
    role = RoleAssignment.objects.get(user=org["press"], role="isr")
    [added] = events("roleassignment.added")
    assert added.after == {"id": role.pk, "user_id": org["press"].pk, "role": "isr", "unit_id": unit.pk, "via": "admin"}
    assert added.before is None
    # and removed again
    response = client.post(f"/admin/breachdesk/roleassignment/{role.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not RoleAssignment.objects.filter(pk=role.pk).exists()
    [deleted] = events("roleassignment.deleted")
    assert deleted.object_id == str(role.pk)
    assert deleted.before == {"id": role.pk, "user_id": org["press"].pk, "role": "isr", "unit_id": unit.pk}
    assert deleted.after is None
    assert audit_verify().ok


def test_an_invalid_change_in_the_admin_changes_nothing_and_records_nothing(org, client):
    before = AuditEvent.objects.count()
    response = client.post("/admin/breachdesk/roleassignment/add/", {"user": org["press"].pk, "role": "isr"})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not RoleAssignment.objects.filter(user=org["press"], role="isr").exists()
    assert AuditEvent.objects.count() == before


def test_an_escalation_step_edited_in_the_admin_is_audited(org, client):
    policy = EscalationPolicy.objects.get(is_default=True)
    step = policy.steps.get(order=1)
    url = f"/admin/notifications/escalationpolicy/{policy.pk}/change/"
    data = form_data(client, url)
    [key] = [k for k, v in data.items() if k.endswith("-id") and v == str(step.pk)]
    prefix = key.removesuffix("-id")
    data[f"{prefix}-ack_timeout"] = "00:30:00"
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    [event] = events("escalationstep.changed")
    assert event.object_id == str(step.pk)
    # DjangoJSONEncoder writes durations in ISO 8601
    assert event.before == {"ack_timeout": "P0DT00H20M00S"}
    assert event.after == {"ack_timeout": "P0DT00H30M00S", "via": "admin"}
    assert not events("escalationpolicy.changed")
    # and the step has the new timeout
    step.refresh_from_db()
    assert step.ack_timeout.total_seconds() == 30 * 60


def test_a_password_set_in_the_admin_is_audited_without_the_password(org, client):
    user = org["press"]
    old_hash = User.objects.get(pk=user.pk).password
    response = client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"usable_password": "true", "password1": "a-new-long-password-7", "password2": "a-new-long-password-7"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password != old_hash
    assert user.check_password("a-new-long-password-7")
    [event] = events("user.password_changed")
    assert (event.object_id, event.actor_username) == (str(user.pk), "admin")
    assert event.after == {"usable": True, "via": "admin"}
    trail = str(list(AuditEvent.objects.values_list("before", "after")))
    assert user.password not in trail
    assert "a-new-long-password-7" not in trail
    # a mismatched confirmation changes nothing and records nothing
    response = client.post(
        f"/admin/auth/user/{user.pk}/password/",
        {"usable_password": "true", "password1": "another-long-password-8", "password2": "different-password-9"},
    )
    assert response.status_code == 200
    assert len(events("user.password_changed")) == 1
    assert User.objects.get(pk=user.pk).password == user.password
