"""The Django admin stays for administrators, and is Italian wherever the project's own strings are (issue 18):
every changelist, add and change page, walked in Italian, shows none of the project's English labels; third-party
pages nobody uses here are gone."""

import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise
from django.utils.text import capfirst

from registry.audit_actions import AuditAction
from registry.models import AuditEvent
from tests.test_pages_i18n import ENGLISH, visible_text

PROJECT_APPS = ("registry", "prescriptions", "reports")


def english_labels() -> set[str]:
    """The project's model and field labels as an English reader sees them, when Italian reads otherwise (or when
    they were never made translatable)."""
    labels = set()
    for app in PROJECT_APPS:
        for model in apps.get_app_config(app).get_models():
            names = [model._meta.verbose_name, model._meta.verbose_name_plural]
            names += [field.verbose_name for field in model._meta.get_fields() if hasattr(field, "verbose_name")]
            for name in names:
                with translation.override("en"):
                    english = capfirst(str(name))
                with translation.override("it"):
                    italian = capfirst(str(name))
                if english != italian or not isinstance(name, Promise):
                    labels.add(english)
    return labels - {"ID", "Id", "SHA-256"}


def admin_urls() -> list[str]:
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls += [reverse(f"{prefix}_changelist"), reverse(f"{prefix}_add")]
        first = model._default_manager.first()
        if first is not None:
            urls.append(reverse(f"{prefix}_change", args=[first.pk]))
    return urls


def italian_client(user) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies["django_language"] = "it"
    return client


@pytest.mark.parametrize("username", ["admin", "officer.lombardia", "aifa"])
def test_every_admin_page_in_italian_shows_no_english_label_of_the_project(demo, username):
    english = {label.lower() for label in english_labels()}
    assert {"region", "centre", "prescriber", "granted by"} <= english  # the test sees what the issue saw
    client = italian_client(demo[username])
    for url in admin_urls():
        response = client.get(url)
        if response.status_code != 200:
            continue
        for chunk in visible_text(response.content.decode()):
            label = chunk.rstrip(":").removeprefix("Per ").strip().lower()
            assert label not in english, (url, chunk)
            assert not ENGLISH.search(chunk), (url, chunk)


def test_the_header_names_the_registry_in_italian(demo):
    page = italian_client(demo["admin"]).get("/admin/").content.decode()
    assert "Amministrazione Registro 648" in page
    assert "Amministrazione Django" not in page and "Django administration" not in page


def test_third_party_pages_nobody_needs_are_hidden(demo):
    client = italian_client(demo["admin"])
    for url in [
        "/admin/django_celery_beat/periodictask/",
        "/admin/django_celery_beat/crontabschedule/",
        "/admin/axes/accessattempt/",
        "/admin/axes/accesslog/",
        "/admin/otp_totp/totpdevice/",
        "/admin/otp_static/staticdevice/",
        "/admin/authtoken/tokenproxy/",
    ]:
        assert client.get(url).status_code == 404, url
    index = client.get("/admin/").content.decode()
    assert not re.search(r"celery|axes|otp_", index, re.IGNORECASE)


def test_the_permissions_read_in_italian(demo):
    page = italian_client(demo["admin"]).get("/admin/auth/group/add/").content.decode()
    assert "Centro: può aggiungere" in page
    assert "Can add" not in page


def test_an_administrator_resets_a_lost_second_factor(demo):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from registry.auth.otp import pending_totp_device

    person = demo["prescriber.milano"]
    pending_totp_device(person)
    client = italian_client(demo["admin"])
    response = client.post(
        "/admin/auth/user/", {"action": "reset_second_factor", "_selected_action": [person.pk]}, follow=True
    )
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=person).exists()
    assert AuditEvent.objects.filter(action=AuditAction.OTP_RESET, object_id=str(person.pk)).exists()
