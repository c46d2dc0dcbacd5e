"""STUB for the patient templates (replaced with ``registry.patient_identity`` at the merge): the label of a
prescription's patient for the signed-in user, ``{% patient_label_for prescription %}``."""

from django import template

from registry.patient_identity import patient_label

register = template.Library()


@register.simple_tag(takes_context=True)
def patient_label_for(context, prescription) -> str:
    return patient_label(user=context["request"].user, prescription=prescription)
