"""Who may see and do what: computed from the user's role and place, here and nowhere else.

Selectors use the ``*_scope`` functions to filter querysets; services and views use
the ``can_*`` / ``ensure_*`` functions. Rules (DOMAIN.md, "Who does what"):

- prescriber: at centres where their authorisation and the centre's designation are
  valid on the day;
- pharmacist: the centres served by their pharmacy;
- nurse: their centre;
- regional officer: their region's centres (read), and they designate centres and
  authorise prescribers in that region;
- national (AIFA): aggregates and reports of every region, never patient rows;
- administrator (or superuser): everything.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Centre, CentreDesignation, PrescriberAuthorisation, Region, Role, StaffProfile


class PermissionDenied(Exception):
    """The user may not do this here; the message says why (API: 403)."""


@dataclass(frozen=True)
class Actor:
    """A user as the registry sees them: role and place."""

    user: object
    role: str | None
    centre_id: object | None = None
    pharmacy_id: object | None = None
    region_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMINISTRATOR or bool(getattr(self.user, "is_superuser", False))


def actor_for(user) -> Actor:
    if user is None or not user.is_authenticated:
        return Actor(user=user, role=None)
    if user.is_superuser:
        return Actor(user=user, role=Role.ADMINISTRATOR)
    cached = getattr(user, "_registry_actor", None)
    if cached is not None:
        return cached
    profile = StaffProfile.objects.filter(user=user).first()
    if profile is None:
        actor = Actor(user=user, role=None)
    else:
        actor = Actor(
            user=user,
            role=profile.role,
            centre_id=profile.centre_id,
            pharmacy_id=profile.pharmacy_id,
            region_id=profile.region_id,
        )
    user._registry_actor = actor
    return actor


def role_of(user) -> str | None:
    return actor_for(user).role


def today() -> date:
    return timezone.localdate()


def designated_on(day: date) -> Exists:
    """Filter for centres whose designation by the Region is in force on ``day``."""
    return Exists(CentreDesignation.objects.valid_on(day).filter(centre=OuterRef("pk")))


def authorised_centres(user, day: date) -> QuerySet[Centre]:
    """Centres where ``user`` may prescribe on ``day``: authorisation and designation both in force."""
    authorisations = PrescriberAuthorisation.objects.valid_on(day).filter(prescriber=user, centre=OuterRef("pk"))
    return Centre.objects.filter(Exists(authorisations)).filter(designated_on(day))


def centre_scope(user, *, day: date | None = None) -> QuerySet[Centre]:
    """The centres whose patients and prescriptions ``user`` may see (empty for the national role)."""
    actor = actor_for(user)
    day = day or today()
    if actor.is_admin:
        return Centre.objects.all()
    match actor.role:
        case Role.PRESCRIBER:
            return authorised_centres(user, day)
        case Role.NURSE:
            return Centre.objects.filter(pk=actor.centre_id)
        case Role.PHARMACIST:
            return Centre.objects.filter(pharmacy_id=actor.pharmacy_id)
        case Role.REGIONAL_OFFICER:
            return Centre.objects.filter(region_id=actor.region_id)
    return Centre.objects.none()


def visible_centres(user) -> QuerySet[Centre]:
    """Centres ``user`` may see listed (names and designations, not patients).

    The national role sees every centre, as monitoring is per centre.
    """
    actor = actor_for(user)
    if actor.role == Role.NATIONAL:
        return Centre.objects.all()
    return centre_scope(user)


def region_scope(user) -> QuerySet[Region]:
    """Regions whose aggregates ``user`` may read."""
    actor = actor_for(user)
    if actor.is_admin or actor.role == Role.NATIONAL:
        return Region.objects.all()
    if actor.role == Role.REGIONAL_OFFICER:
        return Region.objects.filter(pk=actor.region_id)
    return Region.objects.filter(centres__in=centre_scope(user)).distinct()


def sees_patients(user) -> bool:
    """The national role sees aggregates only (DOMAIN.md)."""
    actor = actor_for(user)
    return actor.role is not None and actor.role != Role.NATIONAL


def ensure_role(user, *roles: str) -> Actor:
    actor = actor_for(user)
    if actor.is_admin and Role.ADMINISTRATOR in roles:
        return actor
    if actor.role not in roles:
        allowed = ", ".join(str(Role(r).label) for r in roles)
        raise PermissionDenied(_("Only these roles may do this: %(roles)s.") % {"roles": allowed})
    return actor


def ensure_may_prescribe_at(user, centre: Centre, day: date) -> None:
    """A prescriber may prescribe at ``centre`` on ``day`` (CTS: only centres designated by the Region)."""
    ensure_role(user, Role.PRESCRIBER)
    if not PrescriberAuthorisation.objects.valid_on(day).filter(prescriber=user, centre=centre).exists():
        raise PermissionDenied(
            _("You are not authorised to prescribe at %(centre)s on %(day)s.") % {"centre": centre, "day": day}
        )
    if not CentreDesignation.objects.valid_on(day).filter(centre=centre).exists():
        raise PermissionDenied(
            _("%(centre)s is not designated by its Region for this use on %(day)s.") % {"centre": centre, "day": day}
        )


def ensure_manages_region(user, region_id: str) -> Actor:
    """Regional officers manage centres, pharmacies, designations and authorisations of their own region."""
    actor = actor_for(user)
    if actor.is_admin:
        return actor
    if actor.role != Role.REGIONAL_OFFICER:
        raise PermissionDenied(_("Only a regional officer of the region may do this."))
    if actor.region_id != region_id:
        raise PermissionDenied(_("You may act only within your own region."))
    return actor
