"""The course's regimen in templates (course.regimen): ``{% load course %}{{ prescription|course_doses }}``,
``{{ prescription|course_description }}``, ``{% listing_regimen as text %}`` (the regimen of the criteria version in
force today, for a new prescription)."""

from django import template

from prescriptions.course import regimen

register = template.Library()


@register.filter
def course_doses(prescription) -> int:
    """The doses (and at most the syringes) of the prescription's course, from its criteria version."""
    return regimen.course_regimen(prescription).doses


@register.filter
def window_days(prescription) -> int:
    """The length of the prescription's course window in days, from its criteria version."""
    return regimen.course_regimen(prescription).window_days


@register.filter
def course_description(prescription) -> str:
    """ "100 mg SC every 24 hours for 10 days (10 doses).", with the renal regimen's condition when it applies."""
    return regimen.course_description(prescription)


@register.filter
def course_dose(prescription) -> str:
    """One dose of the prescription's course, as the round offers it: "100 mg SC"."""
    course = regimen.course_regimen(prescription)
    return f"{regimen.plain_number(course.dose_mg)} mg {course.route}"


@register.simple_tag
def listing_regimen() -> str:
    """The regimen of the criteria version in force today, as text: "100 mg SC every 24 hours for 10 days (10
    doses)"."""
    return regimen.regimen_text(regimen.listing_regimen())
