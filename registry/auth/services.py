"""Writes about a user's credentials that are not the token's own."""

from django.db import transaction

from registry.audit import audit_record
from registry.audit_actions import AuditAction

from .tokens import tokens_revoke_all


def password_changed(*, user) -> None:
    """After a password change: every API token of the user is revoked, and the change is audited.

    The other browser sessions end by themselves: Django checks each session against a hash of the password.
    """
    with transaction.atomic():
        tokens_revoke_all(actor=user, user=user, reason="password_change")
        audit_record(actor=user, action=AuditAction.PASSWORD_CHANGE, obj=user, changes={})
