import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_(org):
    admin = User.objects.create_superuser("admin", "admin@example.org", "an-admin-password-1")
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/notifications/escalationpolicy/",
        "/admin/notifications/escalationpolicy/1/change/",
        "/admin/notifications/notification/",
        "/admin/notifications/deadline/",
        "/admin/notifications/timer/",
        "/admin/breachdesk/orgunit/",
        "/admin/auth/user/",
        "/admin/breachdesk/auditevent/",
        "/admin/incidents/incident/",
    ],
)
def test_admin_pages_render(admin_client_, path):
    assert admin_client_.get(path).status_code == 200


def test_operational_records_are_read_only_in_the_admin(admin_client_):
    assert admin_client_.get("/admin/notifications/notification/add/").status_code == 403
    assert admin_client_.get("/admin/breachdesk/auditevent/add/").status_code == 403


def test_policy_page_lists_the_pc02_steps(org):
    client = Client()
    client.force_login(org["reporter"])
    page = client.get("/escalation-policies/").content.decode()
    assert "PC02/2009" in page
    assert "Line manager (PC02-6)" in page
    assert "National list (PC02-8)" in page
