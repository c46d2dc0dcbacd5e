"""python manage.py close_course_windows: close every course whose window (10 days under the shipped
criteria version; prescriptions.course.regimen) is over (beat runs it daily)."""

from django.core.management.base import BaseCommand

from prescriptions.services import course_windows_close


class Command(BaseCommand):
    help = (
        "Close as completed every running course whose window (its criteria version's days from the first dose) is "
        "over, whatever doses were missed; recorded in the audit trail as done by the system. Running it twice "
        "changes nothing."
    )

    def handle(self, *args, **options):
        closed = course_windows_close()
        for prescription in closed:
            self.stdout.write(f"{prescription.pk}: completed ({prescription.doses_administered} doses)")
        self.stdout.write(self.style.SUCCESS(f"{len(closed)} course(s) closed."))
