from django.urls import path

from . import views
from .reports.views import urlpatterns as report_urls

app_name = "notifications"

urlpatterns = [
    path("ack/<str:token>/", views.ack_link, name="ack-link"),
    path("notifications/<int:pk>/acknowledge/", views.acknowledge_in_app, name="acknowledge"),
    path("notifications/<int:pk>/phone/", views.record_phone, name="record-phone"),
    path("approvals/<int:pk>/decide/", views.decide_approval, name="decide-approval"),
    path("incidents/<str:reference>/ico-submissions/", views.record_ico_submission, name="ico-submission"),
    path(
        "incidents/<str:reference>/deadlines/<str:code>/not-required/",
        views.deadline_not_required,
        name="deadline-not-required",
    ),
    path("incidents/<str:reference>/deadlines/<str:code>/due/", views.deadline_change_due, name="deadline-change-due"),
    path("incidents/<str:reference>/investigation/start/", views.start_investigation, name="start-investigation"),
    path("escalation-policies/", views.policy_list, name="policies"),
    *report_urls,
]
