"""Pages of the monitoring reports (server-rendered)."""

from django.urls import path

from . import submission_views, views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("runs/", views.run_list_fragment, name="runs"),
    path("<uuid:run_id>/", views.run_detail, name="run"),
    path("<uuid:run_id>/status/", views.run_status_fragment, name="run_status"),
    path("quarters/", submission_views.quarters, name="quarters"),
    path("quarters/<uuid:submission_id>/", submission_views.quarter, name="quarter"),
    path("quarters/<uuid:submission_id>/approve/", submission_views.action_view("approve"), name="quarter_approve"),
    path("quarters/<uuid:submission_id>/reopen/", submission_views.action_view("reopen"), name="quarter_reopen"),
    path("quarters/<uuid:submission_id>/accept/", submission_views.action_view("accept"), name="quarter_accept"),
    path("quarters/<uuid:submission_id>/return/", submission_views.action_view("return"), name="quarter_return"),
]
