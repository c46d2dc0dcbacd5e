"""Deployment checks of the registry's own settings (``manage.py check --deploy``).

The audit anchors must also leave the database: a table owner who empties ``registry_auditanchor`` and deletes the
head of a chain leaves no trace the database alone can show. With debug off, ``AUDIT_ANCHOR_DIR`` is therefore
required, and must be a folder the registry can create and append to (docs/operations.md, "The audit trail").
"""

import os
from pathlib import Path

from django.conf import settings
from django.core import checks

ANCHOR_STORE_MISSING = "registry.E001"
ANCHOR_STORE_UNWRITABLE = "registry.E002"


def _writable(directory: Path) -> bool:
    """The folder exists and can be written, or the nearest existing parent can (the first anchor creates it)."""
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
    return False


@checks.register(checks.Tags.security, deploy=True)
def anchor_store_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.DEBUG:
        return []
    directory = settings.AUDIT_ANCHOR_DIR
    if not directory:
        return [
            checks.Error(
                "AUDIT_ANCHOR_DIR is not set: the audit anchors would live only in the database they protect.",
                hint="Point AUDIT_ANCHOR_DIR at storage the database's owner cannot rewrite (another host, a WORM "
                "bucket mount); see docs/operations.md.",
                id=ANCHOR_STORE_MISSING,
            )
        ]
    if not _writable(Path(directory)):
        return [
            checks.Error(
                f"AUDIT_ANCHOR_DIR ({directory}) cannot be created or written by this process.",
                hint="Create the folder and give the registry's user write access to it.",
                id=ANCHOR_STORE_UNWRITABLE,
            )
        ]
    return []


SITE_URL_LOCAL = "registry.W001"


@checks.register(deploy=True)
def site_url_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """With debug off, the e-mailed notifications' links should not point at the development server."""
    local = any(host in settings.SITE_URL for host in ("//127.0.0.1", "//localhost"))
    if settings.DEBUG or not local:
        return []
    return [
        checks.Warning(
            f"SITE_URL is {settings.SITE_URL}: the links of the e-mailed notifications would lead nowhere.",
            hint="Set SITE_URL to the registry's public address, e.g. https://registro648.regione.it.",
            id=SITE_URL_LOCAL,
        )
    ]
