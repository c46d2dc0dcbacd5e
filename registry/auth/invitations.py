"""Invitations: an account created without a password, and a one-time link to choose one.

The link carries Django's password-reset token for the account (``default_token_generator``): it is derived from
the account's password hash and last sign-in, so it stops working once a password is chosen (one use), and after
``PASSWORD_RESET_TIMEOUT`` (``invitation_expires_on``). Nothing of it is stored. Choosing the password signs the
person in and leads to the second factor's enrolment.
"""

from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db import transaction
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.views.decorators.debug import sensitive_variables

from registry import events
from registry.calendar import rome_date

User = get_user_model()


def invitation_expires_on() -> date:
    """The (Rome) day on which an invitation issued now stops working, at this time of day."""
    return rome_date(timezone.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT))


def invitation_link_parts(user) -> tuple[str, str]:
    """(uidb64, token) of the one-time link for ``user``, an account that has no password yet."""
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def invitation_user(uidb64: str, token: str):
    """The account the link invites, or None (unknown, already used, expired, deactivated)."""
    try:
        user = User.objects.get(pk=urlsafe_base64_decode(uidb64).decode())
    except (User.DoesNotExist, ValueError, TypeError, OverflowError):
        return None
    if not user.is_active or user.has_usable_password():
        return None
    return user if default_token_generator.check_token(user, token) else None


@sensitive_variables("password")
def invitation_accept(*, user, password: str):
    """The invited person chooses their password: the link is used up (audited)."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        user.set_password(password)
        user.save(update_fields=["password"])
        events.staff_invitation_accepted(user)
    return user
