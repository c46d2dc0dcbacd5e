"""Reads of the organisation domain, scoped to what the user may see."""

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet

from .models import Centre, CentreDesignation, Pharmacy, PrescriberAuthorisation, Region, Role
from .permissions import actor_for, authorised_centres, region_scope, today, visible_centres

User = get_user_model()


def region_list(*, user) -> QuerySet[Region]:
    """Every region for the national role and administrators; otherwise the user's own."""
    return region_scope(user).order_by("code")


def centre_list(*, user, region: str | None = None) -> QuerySet[Centre]:
    centres = visible_centres(user).select_related("region", "pharmacy")
    if region:
        centres = centres.filter(region_id=region)
    return centres.order_by("region_id", "name")


def centre_get(*, user, centre_id) -> Centre | None:
    return centre_list(user=user).filter(pk=centre_id).first()


def centre_designations(*, centre: Centre) -> QuerySet[CentreDesignation]:
    return CentreDesignation.objects.filter(centre=centre).order_by("-valid_from")


def prescribing_centres(*, user, day=None) -> QuerySet[Centre]:
    """Centres where the user may prescribe on ``day`` (today by default)."""
    return authorised_centres(user, day or today()).select_related("region").order_by("name")


def prescribing_centre_ids(*, user, day=None) -> list:
    """The ids of :func:`prescribing_centres`, from the facts the request already holds (no query of its own)."""
    return actor_for(user).prescribing.centre_ids(day or today())


def authorisation_list(*, user) -> QuerySet[PrescriberAuthorisation]:
    """Authorisations the user may see: their own as a prescriber, their region's as an officer."""
    actor = actor_for(user)
    authorisations = PrescriberAuthorisation.objects.select_related("prescriber", "centre", "granted_by")
    if actor.is_admin:
        return authorisations
    if actor.role == Role.REGIONAL_OFFICER:
        return authorisations.filter(centre__region_id=actor.region_id)
    if actor.role == Role.PRESCRIBER:
        return authorisations.filter(prescriber=user)
    return authorisations.none()


# --- The regional office's pages ------------------------------------------------------------------


def managed_region_ids(*, user) -> list[str] | None:
    """The regions whose organisation ``user`` manages: an officer's own, every one (None) for an administrator,
    none for anybody else."""
    actor = actor_for(user)
    if actor.is_admin:
        return None
    if actor.role == Role.REGIONAL_OFFICER:
        return [actor.region_id]
    return []


def _in_managed(queryset: QuerySet, user, path: str) -> QuerySet:
    regions = managed_region_ids(user=user)
    return queryset if regions is None else queryset.filter(**{f"{path}__in": regions})


def office_centre_list(*, user) -> QuerySet[Centre]:
    """The managed regions' centres, each with its designations (newest first) and serving pharmacy."""
    designations = Prefetch("designations", queryset=CentreDesignation.objects.order_by("-valid_from"))
    centres = Centre.objects.select_related("region", "pharmacy").prefetch_related(designations)
    return _in_managed(centres, user, "region_id").order_by("region_id", "name")


def office_centre_get(*, user, centre_id) -> Centre | None:
    return office_centre_list(user=user).filter(pk=centre_id).first()


def office_designation_get(*, user, designation_id) -> CentreDesignation | None:
    designations = CentreDesignation.objects.select_related("centre", "centre__region", "designated_by")
    return _in_managed(designations, user, "centre__region_id").filter(pk=designation_id).first()


def office_pharmacy_list(*, user) -> QuerySet[Pharmacy]:
    """The managed regions' pharmacies with the centres they serve."""
    pharmacies = Pharmacy.objects.select_related("region").prefetch_related(
        Prefetch("centres", queryset=Centre.objects.order_by("name"))
    )
    return _in_managed(pharmacies, user, "region_id").order_by("region_id", "name")


def office_authorisation_list(*, user) -> QuerySet[PrescriberAuthorisation]:
    """The authorisations at the managed regions' centres, by centre and prescriber, the latest period first."""
    authorisations = PrescriberAuthorisation.objects.select_related("prescriber", "centre", "granted_by")
    return _in_managed(authorisations, user, "centre__region_id").order_by(
        "centre__name", "prescriber__username", "-valid_from"
    )


def office_authorisation_get(*, user, authorisation_id) -> PrescriberAuthorisation | None:
    return office_authorisation_list(user=user).filter(pk=authorisation_id).first()


def office_staff_list(*, user) -> QuerySet:
    """The accounts working in the managed regions: placed at one of their centres or pharmacies, their officers,
    and the prescribers authorised at one of their centres."""
    users = User.objects.select_related("staff", "staff__centre", "staff__pharmacy", "staff__region").filter(
        staff__isnull=False
    )
    regions = managed_region_ids(user=user)
    if regions is not None:
        users = users.filter(
            Q(staff__region_id__in=regions)
            | Q(staff__centre__region_id__in=regions)
            | Q(staff__pharmacy__region_id__in=regions)
            | Q(prescriber_authorisations__centre__region_id__in=regions)
        ).distinct()
    return users.order_by("-is_active", "staff__role", "username")


def office_staff_get(*, user, user_id):
    return office_staff_list(user=user).filter(pk=user_id).first()


def office_prescriber_choices(*, user) -> QuerySet:
    """Active prescribers an officer may authorise: those working in their regions (any, for an administrator)."""
    return office_staff_list(user=user).filter(is_active=True, staff__role=Role.PRESCRIBER)
