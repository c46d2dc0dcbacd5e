"""python manage.py verify_audit: recompute every audit chain and compare the trail with its signed anchors.

Exits 1 naming the first problem (every problem is listed on stderr).
"""

from django.core.management.base import BaseCommand, CommandError

from registry.audit_anchors import verify_trail
from registry.models import AuditAnchor, AuditEvent


class Command(BaseCommand):
    help = "Verify the keyed hash chains of the audit trail and compare it with its signed anchors."

    def handle(self, *args, **options):
        problems = list(verify_trail())
        if problems:
            for problem in problems:
                self.stderr.write(str(problem))
            raise CommandError(f"Audit trail broken at {problems[0]}")
        count = AuditEvent.objects.count()
        anchors = AuditAnchor.objects.count()
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {count} events verified against {anchors} anchors."))
