from django.urls import path

from . import api, submission_api

urlpatterns = [
    path("reports/", api.ReportListCreateView.as_view(), name="api-report-list"),
    path("reports/<uuid:run_id>/", api.ReportDetailView.as_view(), name="api-report"),
    path("reports/<uuid:run_id>/files/<str:fmt>/", api.ReportFileView.as_view(), name="api-report-file"),
    path("quarterly-submissions/", submission_api.SubmissionListCreateView.as_view(), name="api-submission-list"),
    path(
        "quarterly-submissions/<uuid:submission_id>/",
        submission_api.SubmissionDetailView.as_view(),
        name="api-submission",
    ),
    path(
        "quarterly-submissions/<uuid:submission_id>/approve/",
        submission_api.SubmissionApproveView.as_view(),
        name="api-submission-approve",
    ),
    path(
        "quarterly-submissions/<uuid:submission_id>/reopen/",
        submission_api.SubmissionReopenView.as_view(),
        name="api-submission-reopen",
    ),
    path(
        "quarterly-submissions/<uuid:submission_id>/accept/",
        submission_api.SubmissionAcceptView.as_view(),
        name="api-submission-accept",
    ),
    path(
        "quarterly-submissions/<uuid:submission_id>/return/",
        submission_api.SubmissionReturnView.as_view(),
        name="api-submission-return",
    ),
]
