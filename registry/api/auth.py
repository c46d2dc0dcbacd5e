"""POST /api/v1/auth/token/: a token for a username and password, with lockout."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

MAX_FAILURES = getattr(settings, "LOGIN_MAX_FAILURES", 5)
LOCKOUT_SECONDS = getattr(settings, "LOGIN_LOCKOUT_SECONDS", 15 * 60)


def _failures_key(username: str) -> str:
    return f"login-failures:{username.lower()}"


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(max_length=10, required=False, allow_blank=True)


class TokenView(APIView):
    """Exchange credentials for an API token. Five wrong passwords lock the username for 15 minutes (429)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
        auth=[],
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        key = _failures_key(username)
        if cache.get(key, 0) >= MAX_FAILURES:
            return Response(
                {"detail": _("Too many failed attempts: try again in 15 minutes.")},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
            )
        user = authenticate(request, username=username, password=serializer.validated_data["password"])
        if user is None or not user.is_active:
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, LOCKOUT_SECONDS)
            return Response(
                {"non_field_errors": [_("Unable to log in with the credentials provided.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        cache.delete(key)
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
