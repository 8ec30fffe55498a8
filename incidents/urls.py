from django.urls import path

from . import views
from .views import plan
from .views.evidence import urlpatterns as evidence_urls

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_new, name="new"),
    *evidence_urls,
    path("<str:reference>/", views.incident_detail, name="detail"),
    path("<str:reference>/reported/", views.incident_confirmation, name="confirmation"),
    path("<str:reference>/edit/", views.incident_edit, name="edit"),
    path("<str:reference>/notes/", views.incident_add_note, name="add_note"),
    path("<str:reference>/clocks/", views.incident_clocks, name="clocks"),
    path("<str:reference>/status/", plan.transition, name="transition"),
    path("<str:reference>/actions/<str:kind>/new/", plan.action_add, name="action-add"),
    path("<str:reference>/actions/<int:pk>/finish/", plan.action_finish, name="action-finish"),
    path("<str:reference>/notices/", plan.notice_add, name="notice-add"),
    path("<str:reference>/root-causes/", plan.root_cause_add, name="root-cause-add"),
    path("<str:reference>/lessons/", plan.lesson_add, name="lesson-add"),
    path("<str:reference>/tracker/", plan.tracker_form, name="tracker"),
    path("<str:reference>/enquiries/", plan.enquiry_add, name="enquiry-add"),
    path("<str:reference>/enquiries/<int:pk>/", plan.enquiry_detail, name="enquiry"),
]
