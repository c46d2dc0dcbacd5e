"""The course's regimen in templates (prescriptions.regimen): ``{% load course %}{{ prescription|course_doses }}``."""

from django import template

from prescriptions.regimen import course_regimen

register = template.Library()


@register.filter
def course_doses(prescription) -> int:
    """The doses (and at most the syringes) of the prescription's course: 10, or 5 every 48 h."""
    return course_regimen(prescription).doses


@register.filter
def window_days(prescription) -> int:
    """The length of the prescription's course window in days (10)."""
    return course_regimen(prescription).window_days
