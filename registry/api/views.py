from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from registry import selectors
from registry.models import CentreDesignation, Role
from registry.notifications import notification_mark_read, notifications_of
from registry.permissions import actor_for

from .serializers import (
    CentreSerializer,
    MeSerializer,
    NotificationFilterSerializer,
    NotificationSerializer,
    RegionSerializer,
)


class RegionListView(generics.ListAPIView):
    """Regions the caller may read: all for the national role, their own otherwise."""

    serializer_class = RegionSerializer
    pagination_class = None

    def get_queryset(self):
        return selectors.region_list(user=self.request.user)


def _with_designations(queryset):
    return queryset.prefetch_related(
        Prefetch("designations", queryset=CentreDesignation.objects.order_by("-valid_from"))
    )


@extend_schema(parameters=[OpenApiParameter("region", str, description="Ministry of Health code, e.g. 030")])
class CentreListView(generics.ListAPIView):
    """Centres the caller may see, with their designations by the Region."""

    serializer_class = CentreSerializer

    def get_queryset(self):
        return _with_designations(selectors.centre_list(user=self.request.user, region=self.request.GET.get("region")))


class CentreDetailView(generics.RetrieveAPIView):
    serializer_class = CentreSerializer
    lookup_url_kwarg = "centre_id"
    lookup_field = "pk"

    def get_queryset(self):
        return _with_designations(selectors.centre_list(user=self.request.user))


class MeView(APIView):
    """Who the caller is in the registry: role, place, centres where they may prescribe today."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        actor = actor_for(request.user)
        centres = (
            [str(pk) for pk in selectors.prescribing_centre_ids(user=request.user)]
            if actor.role == Role.PRESCRIBER
            else []
        )
        data = {
            "username": request.user.get_username(),
            "role": actor.role,
            "centre": str(actor.centre_id) if actor.centre_id else None,
            "pharmacy": str(actor.pharmacy_id) if actor.pharmacy_id else None,
            "region": actor.region_id,
            "prescribing_centres": centres,
        }
        return Response(MeSerializer(data).data)


class NotificationListView(generics.ListAPIView):
    """The caller's own notifications, newest first (``?unread=true``: only the unread), each message in the
    caller's language."""

    serializer_class = NotificationSerializer

    def get_queryset(self):
        unread = NotificationFilterSerializer(data=self.request.query_params)
        unread.is_valid(raise_exception=True)
        return notifications_of(self.request.user, unread_only=unread.validated_data.get("unread", False))

    @extend_schema(parameters=[OpenApiParameter("unread", bool, description="only the unread ones")])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class NotificationReadView(APIView):
    """Mark one of the caller's notifications read: 200 with it; 404 for anyone else's."""

    @extend_schema(request=None, responses=NotificationSerializer)
    def post(self, request, notification_id):
        notification = notification_mark_read(user=request.user, notification_id=notification_id)
        return Response(NotificationSerializer(notification).data)
