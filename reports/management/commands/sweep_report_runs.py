"""Send the report runs that need a message now: what beat's ``requeue_stale_report_runs`` does every
``REPORTS_SWEEP_SECONDS``.

Runs queued and never sent (the broker was down when they were asked for), sent long ago and never picked up,
or running with a dead worker (no heartbeat for ``REPORTS_STALE_AFTER_SECONDS``). Each is claimed by a
conditional UPDATE before it is sent, so running this while beat sweeps sends nothing twice.
"""

from django.core.management.base import BaseCommand

from reports.runs import sweep


class Command(BaseCommand):
    help = "Send the report runs left queued (broker down), lost, or held by a dead worker."

    def handle(self, *args, **options):
        sent = sweep()
        self.stdout.write(f"{sent} report run(s) sent to the workers")
