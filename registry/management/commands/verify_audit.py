"""python manage.py verify_audit: recompute every chain of the audit trail and of the read-access log, and compare
each with its signed anchors.

Exits 1 naming the first problem (every problem is listed on stderr).
"""

from django.core.management.base import BaseCommand, CommandError

from registry.audit_anchors import AUDIT_TRAIL, TRAILS, verify_everything


class Command(BaseCommand):
    help = (
        "Verify the keyed hash chains of the audit trail and of the read-access log and compare each with its "
        "signed anchors."
    )

    def handle(self, *args, **options):
        problems = list(verify_everything())
        if problems:
            for problem in problems:
                self.stderr.write(str(problem))
            raise CommandError(f"Audit trail broken at {problems[0]}")
        for trail in TRAILS:
            count = trail.chained.model.objects.count()
            anchors = trail.anchor_model.objects.count()
            name = "Audit trail" if trail is AUDIT_TRAIL else "Read-access log"
            self.stdout.write(
                self.style.SUCCESS(
                    f"{name} intact: {count} {trail.chained.rows_label} verified against {anchors} anchors."
                )
            )
