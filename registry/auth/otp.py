"""The second factor: TOTP (an authenticator app) with single-use backup codes (django-otp)."""

import io

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from registry.audit import audit_record
from registry.audit_actions import AuditAction

BACKUP_CODES = 10


def otp_required_for(user) -> bool:
    """Whether ``user`` must pass a second factor (everyone when OTP_REQUIRED, bar the demo users in DEBUG)."""
    return bool(settings.OTP_REQUIRED) and user.get_username() not in settings.OTP_EXEMPT_USERNAMES


def has_second_factor(user) -> bool:
    return user_has_device(user, confirmed=True)


def otp_check(*, user, code: str):
    """The device that accepts ``code`` (a backup code is used up by it), or None."""
    code = (code or "").strip().replace(" ", "")
    if not code:
        return None
    return match_token(user, code)


def pending_totp_device(user) -> TOTPDevice:
    """The user's TOTP device being set up (one, reused until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def qr_svg(text: str) -> str:
    """The QR code of ``text`` as inline SVG, drawn here: the secret never leaves the server."""
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


def totp_confirm(*, user, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the device with a first code; returns the new backup codes (shown once), or None if wrong."""
    if not device.verify_token((code or "").strip().replace(" ", "")):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=user).delete()
        backup = StaticDevice.objects.create(user=user, name="backup", confirmed=True)
        codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
        StaticToken.objects.bulk_create([StaticToken(device=backup, token=code) for code in codes])
        audit_record(actor=user, action=AuditAction.OTP_ENROL, obj=user, changes={"backup_codes": len(codes)})
    return codes
