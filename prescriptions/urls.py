"""Pages of the prescription workflow (server-rendered)."""

from django.urls import path

app_name = "prescriptions"

urlpatterns: list = []
