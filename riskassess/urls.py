from django.urls import path

from . import views

app_name = "riskassess"

urlpatterns = [
    path("<str:reference>/risk/", views.assessment_index, name="index"),
    path("<str:reference>/risk/new/", views.assessment_new, name="new"),
    path("<str:reference>/risk/compare/", views.assessment_compare, name="compare"),
    path("<str:reference>/risk/decisions/", views.decision_record, name="decide"),
    path("<str:reference>/risk/<int:version>/", views.assessment_result, name="result"),
]
