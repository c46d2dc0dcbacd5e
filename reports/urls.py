"""Pages of the monitoring reports (server-rendered)."""

from django.urls import path

app_name = "reports"

urlpatterns: list = []
