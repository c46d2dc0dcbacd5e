"""python manage.py create_staff: a real user with a role and a place (as the first administrator)."""

import getpass

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from registry import services
from registry.errors import InvalidInput
from registry.models import Centre, Pharmacy, Region, Role


class Command(BaseCommand):
    help = "Create a staff user: prescriber, pharmacist, nurse, regional_officer, national or administrator."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--centre", help="centre id (nurse; home centre of a prescriber)")
        parser.add_argument("--pharmacy", help="pharmacy id (pharmacist)")
        parser.add_argument("--region", help="Ministry of Health code (regional officer), e.g. 030")
        parser.add_argument("--email", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--acting-as", default=None, help="username of the administrator recorded as actor")
        parser.add_argument("--no-password", action="store_true", help="unusable password (set it later)")

    def handle(self, *args, **options):
        User = get_user_model()
        actor = (
            User.objects.filter(username=options["acting_as"]).first()
            if options["acting_as"]
            else User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        )
        if actor is None:
            raise CommandError("No administrator to act as: run `manage.py createsuperuser` first.")
        try:
            centre = Centre.objects.get(pk=options["centre"]) if options["centre"] else None
            pharmacy = Pharmacy.objects.get(pk=options["pharmacy"]) if options["pharmacy"] else None
            region = Region.objects.get(pk=options["region"]) if options["region"] else None
        except (Centre.DoesNotExist, Pharmacy.DoesNotExist, Region.DoesNotExist, ValueError) as exc:
            raise CommandError(f"Unknown place: {exc}") from None
        password = None
        if not options["no_password"]:
            password = getpass.getpass(f"Password for {options['username']}: ")
            # The same rules as every other password (length, not common, not like the name or e-mail).
            candidate = User(
                username=options["username"],
                first_name=options["first_name"],
                last_name=options["last_name"],
                email=options["email"],
            )
            try:
                validate_password(password, user=candidate)
            except ValidationError as exc:
                raise CommandError("password: " + " ".join(exc.messages)) from None
        try:
            user = services.staff_create(
                actor=actor,
                username=options["username"],
                password=password,
                role=options["role"],
                centre=centre,
                pharmacy=pharmacy,
                region=region,
                first_name=options["first_name"],
                last_name=options["last_name"],
                email=options["email"],
            )
        except InvalidInput as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())) from None
        self.stdout.write(self.style.SUCCESS(f"Created {user.username} ({options['role']})."))
