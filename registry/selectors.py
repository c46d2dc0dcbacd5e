"""Reads of the organisation domain, scoped to what the user may see."""

from django.db.models import QuerySet

from .models import Centre, CentreDesignation, PrescriberAuthorisation, Region, Role
from .permissions import actor_for, authorised_centres, region_scope, today, visible_centres


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
