from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_new, name="new"),
    path("<str:reference>/", views.incident_detail, name="detail"),
    path("<str:reference>/reported/", views.incident_confirmation, name="confirmation"),
    path("<str:reference>/edit/", views.incident_edit, name="edit"),
    path("<str:reference>/notes/", views.incident_add_note, name="add_note"),
    path("<str:reference>/clocks/", views.incident_clocks, name="clocks"),
]
