"""The patient as a page shows them: ``{% patient_view prescription as patient %}`` (banner and table cell).

The identity is decrypted only for the treating centre's staff, and each display is noted for the read-access log
(``registry.patient_identity.identity_displayed``).
"""

from dataclasses import asdict

from django import template

from registry.calendar import rome_today
from registry.patient_identity import (
    age_on,
    display_name,
    identity_displayed,
    may_reveal_identity,
    may_see_identity,
    patient_label,
    place,
    stored_identity,
)

from ..web.forms import PatientIdentityForm, PatientRevealForm

register = template.Library()


@register.simple_tag(takes_context=True)
def patient_view(context, prescription) -> dict:
    """What the banner and the cell show of ``prescription``'s patient to the page's reader; the banner's forms
    (record the identity, reveal it) as the page gave them back with their errors, else blank."""
    request = context.get("request")
    user = getattr(request, "user", None)
    patient = prescription.patient
    may_see = may_see_identity(user, prescription)
    identity = stored_identity(patient, centre_id=prescription.centre_id) if may_see else None
    if identity is not None:
        identity_displayed(request, prescription)
    return {
        "patient": patient,
        "may_see": may_see,
        # Not recorded, or only the fiscal code (a submission without names): the centre's staff may complete it.
        "needs_record": may_see and (identity is None or not identity.family_name),
        "identity": identity,
        "name": display_name(identity) if identity else "",
        "place": place(identity) if identity else "",
        "age": age_on(patient.birth_date, rome_today()),
        "pseudonym": patient.pseudonym[:12],
        "may_reveal": not may_see and user is not None and may_reveal_identity(user, prescription),
        "label": patient_label(user=user, prescription=prescription),
        # The staff's form, given back with its errors, or filled in with what is stored (a new ward, a new bed).
        "identity_form": context.get("identity_form")
        or (PatientIdentityForm(prefix="patient", initial=asdict(identity) if identity else None) if may_see else None),
        "reveal_form": context.get("reveal_form") or PatientRevealForm(prefix="reveal"),
    }
