"""Write the reports' schedules into django-celery-beat's tables now, so the admin shows them before beat runs.

Beat (DatabaseScheduler) does the same from ``CELERY_BEAT_SCHEDULE`` when it starts; running this twice changes
nothing. With ``--backfill`` it also makes the scheduled runs of the month and the quarter just ended, unless
they exist (as the schedules themselves would on the 1st).
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from registry.calendar import rome_today
from reports.kinds import MONITORING, QUARTERLY_PATIENTS
from reports.periods import previous_month, previous_quarter
from reports.services import scheduled_runs_create


class Command(BaseCommand):
    help = "Install the monitoring reports' periodic tasks (monthly, quarterly, stale-run recovery) for beat."

    def add_arguments(self, parser):
        parser.add_argument(
            "--backfill",
            action="store_true",
            help="Also make the scheduled runs of the month and the quarter just ended, unless they exist.",
        )

    def handle(self, *args, backfill: bool = False, **options):
        from django_celery_beat.schedulers import ModelEntry

        from registry.celery import app

        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            if not entry["task"].startswith("reports."):
                continue
            ModelEntry.from_entry(name, app=app, **entry)
            self.stdout.write(f"{name}: {entry['task']} ({entry['schedule']})")
        if backfill:
            today = rome_today()
            for kind, (period_start, period_end) in (
                (MONITORING, previous_month(today)),
                (QUARTERLY_PATIENTS, previous_quarter(today)),
            ):
                created = scheduled_runs_create(kind=kind, period_start=period_start, period_end=period_end)
                self.stdout.write(f"{kind} {period_start}–{period_end}: {len(created)} run(s) queued")
