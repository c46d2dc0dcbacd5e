"""Pages of the monitoring reports (server-rendered)."""

from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("runs/", views.run_list_fragment, name="runs"),
    path("<uuid:run_id>/", views.run_detail, name="run"),
    path("<uuid:run_id>/status/", views.run_status_fragment, name="run_status"),
]
