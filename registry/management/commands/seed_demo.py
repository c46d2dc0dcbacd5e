"""python manage.py seed_demo: the demo users, centres and records of API.md (idempotent)."""

from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from prescriptions import services as prescription_services
from prescriptions.models import TocilizumabShortage
from registry import services
from registry.models import Centre, CentreDesignation, Pharmacy, PrescriberAuthorisation, Region, Role

DEMO_PASSWORD = "demo-password-648"  # noqa: S105 - published in API.md for the demo only
PROGRAMME_START = date(2021, 10, 1)
SHORTAGE_START = date(2021, 10, 5)
SHORTAGE_REFERENCE = "Determina AIFA 30/09/2021 n. 114586 (GU n. 237 del 4/10/2021): carenza di tocilizumab"

User = get_user_model()


class Command(BaseCommand):
    help = "Create the demo regions, centres, pharmacies, users, authorisations and shortage record."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="run even with DEBUG off (never in production)")

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError("seed_demo creates users with a published password: refused with DEBUG off (--force).")
        with transaction.atomic():
            self.seed()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready. Every demo user's password: {DEMO_PASSWORD}"))

    def user(self, username, **kwargs):
        existing = User.objects.filter(username=username).first()
        if existing:
            return existing
        return services.staff_create(actor=self.admin, username=username, password=DEMO_PASSWORD, **kwargs)

    def seed(self):
        self.admin = User.objects.filter(username="admin").first() or services.administrator_bootstrap(
            username="admin", password=DEMO_PASSWORD, email="admin@example.invalid"
        )
        lombardia = Region.objects.get(code="030")
        lazio = Region.objects.get(code="120")
        officers = {
            "030": self.user("officer.lombardia", role=Role.REGIONAL_OFFICER, region=lombardia),
            "120": self.user("officer.lazio", role=Role.REGIONAL_OFFICER, region=lazio),
        }
        self.user("aifa", role=Role.NATIONAL, first_name="AIFA", last_name="Monitoraggio")

        centres = {}
        for region, city in ((lombardia, "Milano"), (lazio, "Roma")):
            officer = officers[region.code]
            pharmacy = Pharmacy.objects.filter(region=region, name=f"Farmacia Ospedaliera Demo {city}").first()
            if pharmacy is None:
                pharmacy = services.pharmacy_create(
                    actor=officer, region=region, name=f"Farmacia Ospedaliera Demo {city}"
                )
            centre = Centre.objects.filter(region=region, name=f"Ospedale Demo {city}").first()
            if centre is None:
                centre = services.centre_create(
                    actor=officer, region=region, name=f"Ospedale Demo {city}", pharmacy=pharmacy
                )
            if not CentreDesignation.objects.filter(centre=centre).exists():
                services.centre_designate(
                    actor=officer,
                    centre=centre,
                    valid_from=PROGRAMME_START,
                    act_reference=f"Delibera regionale demo ({region.name})",
                )
            centres[city] = centre
            slug = city.lower()
            prescriber = self.user(f"prescriber.{slug}", role=Role.PRESCRIBER, centre=centre)
            self.authorise(officer, prescriber, centre, valid_to=None)
            self.user(f"pharmacist.{slug}", role=Role.PHARMACIST, pharmacy=pharmacy)

        self.user("nurse.milano", role=Role.NURSE, centre=centres["Milano"])
        expired = self.user("prescriber.expired", role=Role.PRESCRIBER, centre=centres["Milano"])
        self.authorise(officers["030"], expired, centres["Milano"], valid_to=timezone.localdate() - timedelta(days=1))

        if not TocilizumabShortage.objects.exists():
            aifa = User.objects.get(username="aifa")
            prescription_services.shortage_record(
                actor=aifa,
                starts_on=SHORTAGE_START,
                ends_on=None,
                aifa_reference=SHORTAGE_REFERENCE,
            )

    def authorise(self, officer, prescriber, centre, *, valid_to):
        if not PrescriberAuthorisation.objects.filter(prescriber=prescriber, centre=centre).exists():
            services.prescriber_authorise(
                actor=officer,
                prescriber=prescriber,
                centre=centre,
                valid_from=PROGRAMME_START,
                valid_to=valid_to,
            )
