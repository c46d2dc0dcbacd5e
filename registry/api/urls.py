from django.urls import path

from . import auth, views

urlpatterns = [
    path("auth/token/", auth.TokenView.as_view(), name="api-token"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("regions/", views.RegionListView.as_view(), name="api-region-list"),
    path("centres/", views.CentreListView.as_view(), name="api-centre-list"),
    path("centres/<uuid:centre_id>/", views.CentreDetailView.as_view(), name="api-centre-detail"),
    path("notifications/", views.NotificationListView.as_view(), name="api-notification-list"),
    path(
        "notifications/<int:notification_id>/read/",
        views.NotificationReadView.as_view(),
        name="api-notification-read",
    ),
]
