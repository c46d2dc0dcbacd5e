"""python manage.py audit_anchor: write a signed anchor of the audit chains' heads now (beat does it periodically)."""

from django.core.management.base import BaseCommand

from registry.audit_anchors import anchor_path, anchor_write


class Command(BaseCommand):
    help = "Anchor the heads of the audit chains changed since the last anchor (table and AUDIT_ANCHOR_DIR)."

    def handle(self, *args, **options):
        anchor = anchor_write()
        if anchor is None:
            self.stdout.write("Another anchor was being written at the same moment; nothing to do.")
            return
        where = f" and {anchor_path()}" if anchor_path() else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"Anchor {anchor.id}: {len(anchor.heads)} chain heads, {anchor.event_count} events "
                f"up to event {anchor.last_event_id}, in the database{where}."
            )
        )
