"""Pages of signing in: the second factor (set-up and check) and the password change."""

from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login

from .lockout import lockout_response, one_attempt_at_a_time
from .otp import (
    backup_codes_text,
    has_second_factor,
    otp_check,
    otp_code_reused,
    otp_wait_seconds,
    pending_totp_device,
    qr_svg,
    totp_confirm,
)
from .services import password_changed


class OtpCodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("One-time code"),
        max_length=16,
        # A text keyboard: backup codes have letters (a number pad would hide them).
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autocapitalize": "none",
                "autocorrect": "off",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )


class BackupCodesSavedForm(forms.Form):
    saved = forms.BooleanField(
        label=gettext_lazy("I have saved these codes (downloaded, printed or written down)"),
        error_messages={"required": gettext_lazy("Confirm that you saved the codes: they are not shown again.")},
    )


# The backup codes just issued, kept in the session only until the user confirms they saved them (to download).
SESSION_BACKUP_CODES = "registry_backup_codes"


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    allowed = {request.get_host()}
    if url_has_allowed_host_and_scheme(candidate, allowed_hosts=allowed, require_https=request.is_secure()):
        return candidate
    return reverse_lazy("home")


@login_required
@sensitive_post_parameters("code")
def otp_verify(request):
    """The second step of signing in: a code from the authenticator app, or one backup code."""
    if not has_second_factor(request.user):
        return redirect("otp-setup")
    credentials = {"username": request.user.get_username()}
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST":
        # The lockout check, the code's and the failure's count, one attempt at a time (as for passwords).
        with one_attempt_at_a_time(request, credentials["username"]):
            device = None
            # Checked before the code: a locked-out client guesses no more codes, and signs in after the lock.
            locked = AxesProxyHandler.is_locked(request, credentials)
            wait = 0
            if not locked and form.is_valid():
                wait = otp_wait_seconds(request.user)
                device = otp_check(user=request.user, code=form.cleaned_data["code"])
                if device is None:
                    # A wrong code counts towards the same lockout as a wrong password.
                    user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if locked or getattr(request, "axes_locked_out", False):
            logout(request)
            return lockout_response(request)
        if device is not None:
            otp_login(request, device)
            return redirect(_next_url(request))
        if form.is_valid():
            form.add_error("code", _code_refused_message(request.user, form.cleaned_data["code"], wait))
    return render(request, "registration/otp_verify.html", {"form": form, "next": _next_url(request)})


def _code_refused_message(user, code: str, wait: int) -> str:
    if wait:
        return ngettext(
            "After a wrong code the next one is checked only after a pause: wait %(seconds)d second, then enter "
            "the code again.",
            "After a wrong code the next one is checked only after a pause: wait %(seconds)d seconds, then enter "
            "the code again.",
            wait,
        ) % {"seconds": wait}
    if otp_code_reused(user=user, code=code):
        return _(
            "This code was already used: each code works once. Wait for the next code in your app (at most 30 "
            "seconds) and enter that one."
        )
    return _("The code is wrong, expired or already used.")


@login_required
@sensitive_post_parameters("code")
def otp_setup(request):
    """Enrolment: scan the QR code, confirm with a first code, write down the backup codes."""
    user = request.user
    if has_second_factor(user) and not user.is_verified():
        return redirect("otp-verify")
    device = pending_totp_device(user)
    form = OtpCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = totp_confirm(user=user, device=device, code=form.cleaned_data["code"])
        if codes is not None:
            otp_login(request, device)
            request.session[SESSION_BACKUP_CODES] = codes
            return _render_backup_codes(request, codes, BackupCodesSavedForm())
        form.add_error("code", _("The code is wrong or expired: check the clock of your phone and try again."))
    context = {
        "form": form,
        "qr_svg": qr_svg(device.config_url),
        "secret": _base32(device.bin_key),
        "replacing": has_second_factor(user),
        "next": _next_url(request),
    }
    return render(request, "registration/otp_setup.html", context)


def _render_backup_codes(request, codes, form, status=200):
    context = {"codes": codes, "form": form, "next": _next_url(request)}
    return render(request, "registration/otp_backup_codes.html", context, status=status)


@login_required
def otp_backup_codes(request):
    """The backup codes just issued, until the user confirms they saved them (then they are gone for good)."""
    codes = request.session.get(SESSION_BACKUP_CODES)
    if not codes:
        return redirect(_next_url(request))
    form = BackupCodesSavedForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            del request.session[SESSION_BACKUP_CODES]
            messages.success(request, _("Second factor set up. Keep the backup codes apart from your phone."))
            return redirect(_next_url(request))
        return _render_backup_codes(request, codes, form, status=400)
    return _render_backup_codes(request, codes, form)


@login_required
def otp_backup_codes_download(request):
    """The backup codes as a text file, while they are still shown (before the user confirmed saving them)."""
    codes = request.session.get(SESSION_BACKUP_CODES)
    if not codes:
        raise Http404
    text = backup_codes_text(
        codes,
        username=request.user.get_username(),
        heading=_("Registro 648: backup codes (each works once)"),
    )
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, "registro648-codici-di-riserva.txt")
    return response


def _base32(key: bytes) -> str:
    from base64 import b32encode

    return b32encode(key).decode().rstrip("=")


class PasswordChangeView(auth_views.PasswordChangeView):
    """Changing the password ends every other session (Django's session hash) and revokes every API token."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        response = super().form_valid(form)
        password_changed(user=self.request.user)
        messages.success(self.request, _("Password changed: your other sessions and API tokens have ended."))
        return response
