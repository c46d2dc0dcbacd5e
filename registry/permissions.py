"""Who may see and do what: computed from the user's role and place, here and nowhere else.

Selectors use :func:`centre_condition` (and the ``*_scope`` querysets built on it) to filter querysets; services,
views and :mod:`prescriptions.permissions` use :func:`sees_centre` and the ``ensure_*`` functions, which read the
same facts, so a list and a check never disagree. Rules (DOMAIN.md, "Who does what"):

- prescriber: at centres where their authorisation and the centre's designation are
  valid on the day;
- pharmacist: the centres served by their pharmacy;
- nurse: their centre;
- regional officer: their region's centres (read), and they designate centres and
  authorise prescribers in that region;
- national (AIFA): aggregates and reports of every region, never patient rows;
- administrator (or superuser): everything.

The facts are read once per user object (:func:`actor_for`): the profile at the first question, a prescriber's
authorisations and their centres' designations at the first question about prescribing (two queries), and every
later ``may``/scope question of the request is answered from them. Every day is a Rome day
(``registry.calendar``).
"""

from dataclasses import dataclass
from datetime import date
from functools import cached_property

from django.db.models import Q, QuerySet
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext as _

from .calendar import rome_today
from .formats import short_date
from .models import Centre, CentreDesignation, PrescriberAuthorisation, Region, Role, StaffProfile


class PermissionDenied(Exception):
    """The user may not do this here; the message says why (API: 403)."""


# Bumped whenever a profile, an authorisation or a designation is saved or deleted in this process: an actor read
# before (a user object kept across such a change, as a test or a task does) reads its facts again.
_facts_generation = 0


def _facts_changed(sender, **kwargs) -> None:
    global _facts_generation
    _facts_generation += 1


for _model in (StaffProfile, PrescriberAuthorisation, CentreDesignation):
    post_save.connect(_facts_changed, sender=_model, dispatch_uid=f"registry-actor-{_model.__name__}")
    post_delete.connect(_facts_changed, sender=_model, dispatch_uid=f"registry-actor-{_model.__name__}-delete")


@dataclass(frozen=True)
class Period:
    """A validity period (``valid_to`` included; None: open-ended), of a centre's authorisation or designation."""

    centre_id: object
    valid_from: date
    valid_to: date | None

    def covers(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def overlaps(self, first: date, last: date) -> bool:
        return self.valid_from <= last and (self.valid_to is None or self.valid_to >= first)


class Prescribing:
    """Where a prescriber may prescribe: the centres they hold an authorisation at (:attr:`centres`, by id), the
    periods of those authorisations and of those centres' designations, read in one query."""

    _CENTRE_COLUMNS = ("id", "region_id", "name", "pharmacy_id", "created_at")

    def __init__(self, user):
        rows = (
            Centre.objects.filter(authorisations__prescriber=user)
            .order_by()
            .values_list(
                *self._CENTRE_COLUMNS,
                "authorisations__valid_from",
                "authorisations__valid_to",
                "designations__valid_from",
                "designations__valid_to",
            )
        )
        self.centres: dict = {}
        authorisations, designations = set(), set()
        for row in rows:
            centre_id = row[0]
            if centre_id not in self.centres:
                self.centres[centre_id] = Centre.from_db("default", self._CENTRE_COLUMNS, row[:5])
            authorisations.add(Period(centre_id, row[5], row[6]))
            if row[7] is not None:
                designations.add(Period(centre_id, row[7], row[8]))
        self.authorisations = tuple(authorisations)
        self.designations = tuple(designations)
        # Each centre once, by name: the order every list of them follows.
        self.centre_set = tuple(sorted(self.centres, key=lambda pk: (self.centres[pk].name, str(pk))))

    def authorised(self, centre_id, day: date) -> bool:
        return any(p.centre_id == centre_id and p.covers(day) for p in self.authorisations)

    def designated(self, centre_id, day: date) -> bool:
        return any(p.centre_id == centre_id and p.covers(day) for p in self.designations)

    def centre_ids(self, day: date) -> list:
        """The centres where the prescriber may prescribe on ``day``: authorisation and designation in force."""
        return [pk for pk in self.centre_set if self.authorised(pk, day) and self.designated(pk, day)]

    def centre_ids_between(self, first: date, last: date) -> list:
        """The centres where both were in force on some day of ``first``..``last`` (each on a day of its own)."""

        def overlapping(periods, pk):
            return any(p.centre_id == pk and p.overlaps(first, last) for p in periods)

        return [
            pk for pk in self.centre_set if overlapping(self.authorisations, pk) and overlapping(self.designations, pk)
        ]


@dataclass(frozen=True)
class Actor:
    """A user as the registry sees them: role and place (and, for a prescriber, :attr:`prescribing`)."""

    user: object
    role: str | None
    centre_id: object | None = None
    pharmacy_id: object | None = None
    region_id: str | None = None
    generation: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMINISTRATOR or bool(getattr(self.user, "is_superuser", False))

    @property
    def sees_every_region(self) -> bool:
        """Administrators and the national role: every region, and the whole country."""
        return self.is_admin or self.role == Role.NATIONAL

    @cached_property
    def prescribing(self) -> Prescribing:
        return Prescribing(self.user)


def actor_for(user) -> Actor:
    """The user's :class:`Actor`, read once per user object (per request) and reused by every question."""
    if user is None or not user.is_authenticated:
        return Actor(user=user, role=None)
    cached = getattr(user, "_registry_actor", None)
    if cached is not None and cached.generation == _facts_generation:
        return cached
    if user.is_superuser:
        actor = Actor(user=user, role=Role.ADMINISTRATOR, generation=_facts_generation)
    else:
        profile = _profile(user)
        if profile is None:
            actor = Actor(user=user, role=None, generation=_facts_generation)
        else:
            actor = Actor(
                user=user,
                role=profile.role,
                centre_id=profile.centre_id,
                pharmacy_id=profile.pharmacy_id,
                region_id=profile.region_id,
                generation=_facts_generation,
            )
    user._registry_actor = actor
    return actor


def _profile(user) -> StaffProfile | None:
    """The user's profile: the one read with the user (``select_related("staff")``, as the API's token does), or
    a query."""
    related = getattr(getattr(type(user), "staff", None), "related", None)
    if related is not None and related.is_cached(user):
        return related.get_cached_value(user)
    return StaffProfile.objects.filter(user=user).first()


def role_of(user) -> str | None:
    return actor_for(user).role


def today() -> date:
    """Today in Rome: the day every permission is judged on unless a caller names another."""
    return rome_today()


# --- Which centres' patients a user sees: one predicate, as a query condition and as a test on a row ---------


def centre_condition(user, *, day: date | None = None, through: str = "") -> Q | None:
    """The centres whose patients and prescriptions ``user`` may see, as a condition on the centre reached through
    ``through`` ("" for ``Centre`` itself, ``"centre__"`` for a row with a ``centre``); None: every centre
    (administrators). The national role, and a user without a role, see none (an always-false condition).

    :func:`sees_centre` answers the same question for one centre in hand, from the same facts.
    """
    actor = actor_for(user)
    if actor.is_admin:
        return None
    match actor.role:
        case Role.NURSE:
            return Q(**{f"{through}pk": actor.centre_id})
        case Role.PHARMACIST:
            return Q(**{f"{through}pharmacy_id": actor.pharmacy_id})
        case Role.REGIONAL_OFFICER:
            return Q(**{f"{through}region_id": actor.region_id})
        case Role.PRESCRIBER:
            # Their few authorised centres, resolved once: an IN list the planner walks by index.
            return Q(**{f"{through}pk__in": actor.prescribing.centre_ids(day or today())})
    return Q(pk__in=[])


def sees_centre(user, centre: Centre, *, day: date | None = None) -> bool:
    """Whether ``user`` sees the patients and prescriptions of ``centre`` (:func:`centre_condition` for one row)."""
    actor = actor_for(user)
    if actor.is_admin:
        return True
    match actor.role:
        case Role.NURSE:
            return centre.pk == actor.centre_id
        case Role.PHARMACIST:
            return centre.pharmacy_id is not None and centre.pharmacy_id == actor.pharmacy_id
        case Role.REGIONAL_OFFICER:
            return centre.region_id == actor.region_id
        case Role.PRESCRIBER:
            return centre.pk in actor.prescribing.centre_ids(day or today())
    return False


def authorised_centres(user, day: date) -> QuerySet[Centre]:
    """Centres where ``user`` may prescribe on ``day``: authorisation and designation both in force."""
    if user is None or not user.is_authenticated:
        return Centre.objects.none()
    return Centre.objects.filter(pk__in=actor_for(user).prescribing.centre_ids(day))


def centre_scope(user, *, day: date | None = None) -> QuerySet[Centre]:
    """The centres whose patients and prescriptions ``user`` may see (empty for the national role)."""
    condition = centre_condition(user, day=day)
    return Centre.objects.all() if condition is None else Centre.objects.filter(condition)


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
    if actor.sees_every_region:
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
    actor = ensure_role(user, Role.PRESCRIBER)
    if not actor.prescribing.authorised(centre.pk, day):
        raise PermissionDenied(
            _("You are not authorised to prescribe at %(centre)s on %(day)s.")
            % {"centre": centre, "day": short_date(day)}
        )
    if not actor.prescribing.designated(centre.pk, day):
        raise PermissionDenied(
            _("%(centre)s is not designated by its Region for this use on %(day)s.")
            % {"centre": centre, "day": short_date(day)}
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
