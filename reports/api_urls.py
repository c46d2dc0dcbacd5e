from django.urls import path

from . import api

urlpatterns = [
    path("reports/", api.ReportListCreateView.as_view(), name="api-report-list"),
    path("reports/<uuid:run_id>/", api.ReportDetailView.as_view(), name="api-report"),
    path("reports/<uuid:run_id>/files/<str:fmt>/", api.ReportFileView.as_view(), name="api-report-file"),
]
