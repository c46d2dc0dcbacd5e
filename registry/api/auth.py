"""/api/v1/auth/token/: POST exchanges credentials (and the second factor) for a token; DELETE revokes it.

Failures are counted by django-axes per username and client address together; the fifth locks that pair
out for LOGIN_LOCKOUT_MINUTES (429), whatever the password, while the same user signs in from elsewhere.
"""

from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.auth.lockout import lockout_response, one_attempt_at_a_time
from registry.auth.otp import has_second_factor, otp_check, otp_required_for
from registry.auth.tokens import HashedTokenAuthentication, token_issue, token_revoke
from registry.errors import with_code

from .throttles import ClientAddressScopedRateThrottle


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})
    otp = serializers.CharField(
        max_length=16,
        required=False,
        allow_blank=True,
        help_text="The current code of the user's authenticator app, or one unused backup code.",
    )
    otp_code = serializers.CharField(max_length=16, required=False, allow_blank=True, help_text="Same as `otp`.")


def _invalid(errors: dict) -> Response:
    """A 400 of this view, in the shape of every other (field → messages, and ``code``)."""
    return Response(with_code(errors, status.HTTP_400_BAD_REQUEST), status=status.HTTP_400_BAD_REQUEST)


def _bad_credentials():
    return _invalid({"non_field_errors": [_("Unable to log in with the credentials provided.")]})


class TokenView(APIView):
    throttle_classes = [ClientAddressScopedRateThrottle]
    throttle_scope = "login"

    def _revoking(self) -> bool:
        return getattr(self.request, "method", None) == "DELETE"

    def get_authenticators(self):
        # POST is the sign-in itself; only DELETE acts on a token already held.
        return [HashedTokenAuthentication()] if self._revoking() else []

    def get_permissions(self):
        return [IsAuthenticated()] if self._revoking() else [AllowAny()]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: inline_serializer("TokenResponse", {"token": serializers.CharField()}),
            400: OpenApiResponse(description="Wrong credentials, or the one-time code missing or wrong."),
            429: OpenApiResponse(description="Locked out: too many failures for this username from this address."),
        },
        auth=[],
    )
    def post(self, request):
        """A token valid for TOKEN_TTL_HOURS; each call issues a new one."""
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        http_request = request._request  # axes marks the lockout on Django's request
        # From the lockout check to the failure's count, one attempt at a time per username and address, so
        # at most LOGIN_MAX_FAILURES passwords are ever tried (registry/auth/lockout.py).
        with one_attempt_at_a_time(http_request, data["username"]):
            user = authenticate(http_request, username=data["username"], password=data["password"])
            if getattr(http_request, "axes_locked_out", False):
                return lockout_response(http_request)
            if user is None or not user.is_active:
                return _bad_credentials()
            if has_second_factor(user):
                code = data.get("otp") or data.get("otp_code") or ""
                if not code:
                    return _invalid({"otp": [_("This user needs a one-time code.")]})
                if otp_check(user=user, code=code) is None:
                    user_login_failed.send(
                        sender=__name__, credentials={"username": data["username"]}, request=http_request
                    )
                    if getattr(http_request, "axes_locked_out", False):
                        return lockout_response(http_request)
                    return _invalid({"otp": [_("The code is wrong, expired or already used.")]})
            elif otp_required_for(user):
                setup = _("Set up a second factor on the registry's pages (/accounts/otp/setup/) first.")
                return _invalid({"otp": [setup]})
        # Clears this username and address's failures (axes) and records the sign-in time.
        user_logged_in.send(sender=user.__class__, request=http_request, user=user)
        return Response({"token": token_issue(user=user)})

    @extend_schema(request=None, responses={204: None}, auth=[{"tokenAuth": []}])
    def delete(self, request):
        """Revoke the token this request is made with."""
        token_revoke(actor=request.user, token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)
