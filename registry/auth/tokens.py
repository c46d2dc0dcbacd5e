"""Issuing, checking and revoking API tokens (``Authorization: Token <key>``).

A key is 40 random hexadecimal characters, shown once; the database keeps its SHA-256. A token expires
``TOKEN_TTL_HOURS`` after it is issued; its owner revokes it with ``DELETE /api/v1/auth/token/``, an
administrator in the admin, and a password change revokes every token of the user.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from registry.audit import audit_record
from registry.audit_actions import AuditAction

from .models import ApiToken


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_issue(*, user) -> str:
    """A new token for ``user``; returns the key, which is not stored anywhere.

    Not an audit event: the sign-in that asks for it is logged by django-axes (AccessLog, with the address).
    """
    key = secrets.token_hex(20)
    now = timezone.now()
    with transaction.atomic():
        # Expired tokens of the user go as a new one comes: the table does not grow without end.
        ApiToken.objects.filter(user=user, expires_at__lte=now).delete()
        ApiToken.objects.create(
            user=user,
            digest=token_digest(key),
            created_at=now,
            expires_at=now + timedelta(hours=settings.TOKEN_TTL_HOURS),
        )
    return key


def token_revoke(*, actor, token: ApiToken) -> None:
    with transaction.atomic():
        owner = token.user
        audit_record(actor=actor, action=AuditAction.TOKEN_REVOKE, obj=owner, changes={"token": token.pk})
        token.delete()


def tokens_revoke_all(*, actor, user, reason: str) -> int:
    with transaction.atomic():
        ids = list(ApiToken.objects.filter(user=user).values_list("pk", flat=True))
        if ids:
            audit_record(
                actor=actor, action=AuditAction.TOKEN_REVOKE, obj=user, changes={"tokens": ids, "reason": reason}
            )
            ApiToken.objects.filter(pk__in=ids).delete()
    return len(ids)


class HashedTokenAuthentication(TokenAuthentication):
    """DRF's ``Token <key>`` header, checked against the stored digest and the expiry."""

    keyword = "Token"

    def authenticate_credentials(self, key):
        # The user's staff profile in the same query: the request's permissions start from it (registry.permissions).
        token = ApiToken.objects.select_related("user", "user__staff").filter(digest=token_digest(key)).first()
        if token is None or token.is_expired:
            raise exceptions.AuthenticationFailed(_("Invalid or expired token."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return (token.user, token)


def revoke_tokens_when_the_password_changes(sender, instance, raw=False, **kwargs):
    """Whatever sets a new password (the page, the admin, ``changepassword``), the user's API tokens end with it.

    ``_password`` is Django's mark of a ``set_password`` not yet saved; the hash upgrade at sign-in (to Argon2)
    clears it before saving, so it revokes nothing.
    """
    if raw or instance.pk is None or getattr(instance, "_password", None) is None:
        return
    ApiToken.objects.filter(user_id=instance.pk).delete()
