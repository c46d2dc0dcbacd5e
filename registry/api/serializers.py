from rest_framework import serializers

from registry.models import Centre, CentreDesignation, Region
from registry.notifications import render_message


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["code", "name"]


class DesignationSerializer(serializers.ModelSerializer):
    class Meta:
        model = CentreDesignation
        fields = ["valid_from", "valid_to", "act_reference"]


class CentreSerializer(serializers.ModelSerializer):
    region = serializers.CharField(source="region_id")
    region_name = serializers.CharField(source="region.name")
    pharmacy = serializers.CharField(source="pharmacy_id", allow_null=True)
    pharmacy_name = serializers.CharField(source="pharmacy.name", allow_null=True, default=None)
    designations = DesignationSerializer(many=True)

    class Meta:
        model = Centre
        fields = ["id", "name", "region", "region_name", "pharmacy", "pharmacy_name", "designations"]


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    centre = serializers.CharField(allow_null=True)
    pharmacy = serializers.CharField(allow_null=True)
    region = serializers.CharField(allow_null=True)
    prescribing_centres = serializers.ListField(child=serializers.CharField())


class NotificationFilterSerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False)


class NotificationSerializer(serializers.Serializer):
    """A notification (API.md, "Notifications"): its message rendered in the reader's language."""

    id = serializers.IntegerField()
    kind = serializers.CharField()
    created_at = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)
    prescription = serializers.UUIDField(source="prescription_id", allow_null=True)
    message = serializers.SerializerMethodField()

    def get_message(self, notification) -> str:
        return render_message(notification)
