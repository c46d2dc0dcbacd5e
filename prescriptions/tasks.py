"""Background work of the prescription workflow. Tasks take ids, never model instances."""

from celery import shared_task

from .interop.bulk import bulk_export_run, bulk_exports_purge
from .services import course_windows_close


@shared_task(acks_late=True)
def close_course_windows() -> int:
    """Daily (beat): close every course whose window ended; how many were closed."""
    return len(course_windows_close())


@shared_task(acks_late=True)
def generate_bulk_export(export_id: str) -> str:
    """A FHIR bulk export's NDJSON files (prescriptions.interop.bulk); its final status."""
    return bulk_export_run(export_id)


@shared_task
def purge_bulk_exports() -> int:
    """Hourly (beat): delete the bulk exports past their time; how many went."""
    return bulk_exports_purge()
