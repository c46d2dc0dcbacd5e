"""The read-access log: who viewed which prescription or downloaded which per-patient file, and when.

Views call :func:`access_log_record` once per response that shows patient data (the prescription page, its API
detail and FHIR export, a report file download). Unlike the audit trail it is not hash-chained (every read
writes a row); it is kept for inspection by administrators and, for their region, regional officers (admin).
"""

from django.db import models

from .models import AccessKind, AccessLog


def _region_of(obj: models.Model) -> str | None:
    """The region the record belongs to: a prescription's centre's, a report file's run's (None: the country)."""
    if hasattr(obj, "centre_id"):
        return obj.centre.region_id
    if hasattr(obj, "run_id"):
        return obj.run.region_id
    return getattr(obj, "region_id", None)


def access_log_record(*, user, obj: models.Model, kind: AccessKind | str) -> AccessLog:
    """Record that ``user`` read ``obj`` (``kind``: which page, API or file). ``kind`` must be an AccessKind."""
    kind = AccessKind(kind)
    authenticated = user is not None and user.is_authenticated
    return AccessLog.objects.create(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "",
        kind=kind,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        region_id=_region_of(obj),
    )
