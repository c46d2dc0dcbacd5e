"""Background work of the prescription workflow. Tasks take ids, never model instances."""

from celery import shared_task

from .services import course_windows_close


@shared_task(acks_late=True)
def close_course_windows() -> int:
    """Daily (beat): close every course whose window ended; how many were closed."""
    return len(course_windows_close())
