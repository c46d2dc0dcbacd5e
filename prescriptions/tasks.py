"""Background work of the prescription workflow. Tasks take ids, never model instances."""

from celery import shared_task

from registry.calendar import rome_today

from .interop.bulk import bulk_export_run, bulk_exports_purge
from .notices import outcomes_due_notify
from .services import course_windows_close
from .stock.services import cover_check_all


@shared_task(acks_late=True)
def close_course_windows() -> int:
    """Daily (beat): close every course whose window ended; how many were closed."""
    return len(course_windows_close())


@shared_task(acks_late=True)
def notify_outcomes_due() -> int:
    """Daily (beat): tell each prescriber once of a course whose day-28 outcome has come due."""
    return outcomes_due_notify(today=rome_today())


@shared_task(acks_late=True)
def check_stock_cover() -> int:
    """Hourly (beat): tell a pharmacy's pharmacists and the Region's officers when its days of cover fell below
    its threshold (once a day each); how many pharmacies were reported."""
    return cover_check_all()


@shared_task(acks_late=True)
def generate_bulk_export(export_id: str) -> str:
    """A FHIR bulk export's NDJSON files (prescriptions.interop.bulk); its final status."""
    return bulk_export_run(export_id)


@shared_task
def purge_bulk_exports() -> int:
    """Hourly (beat): delete the bulk exports past their time; how many went."""
    return bulk_exports_purge()
