"""python manage.py rotate_patient_keys: re-encrypt every patient's identity under the first key of
PATIENT_DATA_KEYS, in batches, while the registry keeps running (docs/operations.md, "Rotating the patient data key").

Exits 1 if some rows no configured key decrypts (their patient ids are listed, never their data).
"""

from django.core.management.base import BaseCommand, CommandError

from registry.patient_crypto import current_key_id
from registry.patient_identity import patient_keys_rotate


class Command(BaseCommand):
    help = "Re-encrypt the patients' identities under the first key of PATIENT_DATA_KEYS, in batches, online."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction (default 500)")

    def handle(self, *args, batch_size: int, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        result = patient_keys_rotate(batch_size=batch_size)
        self.stdout.write(f"{result.rotated} identities re-encrypted under key {current_key_id()}.")
        if result.undecryptable:
            for patient_id in result.undecryptable:
                self.stderr.write(f"patient {patient_id}: no configured key decrypts its identity")
            raise CommandError(
                f"{len(result.undecryptable)} identities could not be decrypted: keep their old key in "
                "PATIENT_DATA_KEYS and run the command again."
            )
        self.stdout.write(self.style.SUCCESS("Every identity is under the first key: older keys may be removed."))
