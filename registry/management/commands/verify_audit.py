"""python manage.py verify_audit: recompute every audit chain; exit 1 naming the first broken link."""

from django.core.management.base import BaseCommand, CommandError

from registry.audit import verify_chains
from registry.models import AuditEvent


class Command(BaseCommand):
    help = "Verify the hash chains of the audit trail."

    def handle(self, *args, **options):
        first_broken = next(verify_chains(), None)
        if first_broken is not None:
            raise CommandError(f"Audit trail broken at {first_broken}")
        count = AuditEvent.objects.count()
        self.stdout.write(self.style.SUCCESS(f"Audit trail intact: {count} events verified."))
