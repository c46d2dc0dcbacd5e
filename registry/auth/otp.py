"""The second factor: TOTP (an authenticator app) with single-use backup codes (django-otp)."""

import io
import time

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_otp import devices_for_user, match_token, user_has_device
from django_otp.oath import TOTP
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
    code = normalise_code(code)
    if not code:
        return None
    return match_token(user, code)


def normalise_code(code: str) -> str:
    """As typed: spaces and dashes dropped, letters lower case (backup codes are stored lower case, and a text
    keyboard may capitalise the first letter)."""
    return (code or "").strip().replace(" ", "").replace("-", "").lower()


def otp_wait_seconds(user) -> int:
    """How long ``user`` must wait before a code is checked at all (0: now). Ask before :func:`otp_check`.

    After a wrong code django-otp refuses to check the next one for a moment (1 s, 2 s, 4 s…, per device), so a
    right code typed at once would be refused like a wrong one; the page says to wait instead.
    """
    now = timezone.now()
    wait = 0
    for device in devices_for_user(user, confirmed=True):
        allowed, data = device.verify_is_allowed()
        if not allowed and data and data.get("locked_until"):
            wait = max(wait, int((data["locked_until"] - now).total_seconds() + 0.999), 1)
    return wait


def otp_code_reused(*, user, code: str) -> bool:
    """Whether a refused ``code`` is the authenticator's right code of a 30-second window already used.

    A TOTP code works once (django-otp keeps the last window used); the next one comes with the next window.
    Reads only: nothing counts as an attempt here.
    """
    code = normalise_code(code)
    if not code.isdigit():
        return False
    for device in TOTPDevice.objects.filter(user=user, confirmed=True):
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time()
        if totp.verify(int(code), device.tolerance) and totp.t() <= device.last_t:
            return True
    return False


def backup_codes_text(codes: list[str], *, username: str, heading: str) -> str:
    """The backup codes as the text file the user downloads (one code a line, CRLF so every editor shows them)."""
    lines = [heading, username, "", *codes, ""]
    return "\r\n".join(lines)


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


def otp_reset(*, actor, user) -> int:
    """An administrator removes ``user``'s authenticator and backup codes (a lost phone): at their next sign-in
    they set up a new one. Audited; returns how many devices were removed."""
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0] + StaticDevice.objects.filter(user=user).delete()[0]
        audit_record(actor=actor, action=AuditAction.OTP_RESET, obj=user, changes={"devices": removed})
    return removed
