"""python manage.py audit_anchor: write a signed anchor of the chains' heads of the audit trail and of the
read-access log now (beat does it periodically)."""

from django.core.management.base import BaseCommand

from registry.audit_anchors import TRAILS, anchor_path, anchor_write


class Command(BaseCommand):
    help = (
        "Anchor the heads of the audit trail's and the read-access log's chains changed since the last anchor "
        "(tables and AUDIT_ANCHOR_DIR)."
    )

    def handle(self, *args, **options):
        for trail in TRAILS:
            anchor = anchor_write(trail)
            name = trail.name.capitalize()
            if anchor is None:
                self.stdout.write(f"{name}: another anchor was being written at the same moment; nothing to do.")
                continue
            where = f" and {anchor_path(trail)}" if anchor_path(trail) else ""
            self.stdout.write(
                self.style.SUCCESS(
                    f"{name}: anchor {anchor.id}: {len(anchor.heads)} chain heads, {anchor.event_count} "
                    f"{trail.chained.rows_label} up to {trail.chained.a_row.split()[-1]} {anchor.last_event_id}, "
                    f"in the database{where}."
                )
            )
