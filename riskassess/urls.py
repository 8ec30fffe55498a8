from django.urls import path

from . import people_views, views

app_name = "riskassess"

urlpatterns = [
    path("<str:reference>/risk/", views.assessment_index, name="index"),
    path("<str:reference>/risk/new/", views.assessment_new, name="new"),
    path("<str:reference>/risk/compare/", views.assessment_compare, name="compare"),
    path("<str:reference>/risk/decisions/", views.decision_record, name="decide"),
    path("<str:reference>/risk/<int:version>/", views.assessment_result, name="result"),
    path("<str:reference>/people/", people_views.people, name="people"),
    path("<str:reference>/people/upload/", people_views.upload, name="people-upload"),
    path("<str:reference>/people/map/", people_views.map_columns, name="people-map"),
    path("<str:reference>/people/population.csv", people_views.population_csv, name="people-csv"),
    path("<str:reference>/people/<int:pk>/cancel/", people_views.cancel, name="people-cancel"),
    path("<str:reference>/enquiries/<int:pk>/lookup/", people_views.enquiry_lookup, name="enquiry-lookup"),
]
