"""Check every signed quarter: the manifest against its SHA-256 and the approval's audit event, the figures, and
every signed file read again against the manifest (docs/signature.md). Exits with an error when one differs."""

from django.core.management.base import BaseCommand, CommandError

from reports.models import SubmissionSignature
from reports.submissions import signature_check


class Command(BaseCommand):
    help = "Verify the signed files, figures and manifests of every approved quarter."

    def handle(self, *args, **options):
        broken = 0
        signatures = SubmissionSignature.objects.select_related("submission", "run").order_by("signed_at")
        for signature in signatures.iterator(chunk_size=100):
            problems = signature_check(signature)
            if problems:
                broken += 1
                self.stderr.write(f"{signature}: " + "; ".join(problems))
        if broken:
            raise CommandError(f"{broken} signature(s) no longer match what was signed")
        self.stdout.write(f"{signatures.count()} signature(s) verified")
