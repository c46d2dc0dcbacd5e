from django.utils.functional import SimpleLazyObject

from .models import Role
from .notifications import unread_count
from .permissions import actor_for, today

# The roles that use the HTTP API (integrations, exports): clinicians work in the pages and never see the link.
API_ROLES = {Role.REGIONAL_OFFICER, Role.NATIONAL, Role.ADMINISTRATOR}
# The menu entry a page belongs to, by URL name (or namespace for whole sections).
SECTIONS = {
    "home": "home",
    "prescriptions:new": "new",
    "prescriptions:list": "list",
    "prescriptions:detail": "list",
    "prescriptions:doses_due": "doses_due",
    # The round's confirmations (a dose, its take-back) are steps of the round.
    "prescriptions:administer_now": "doses_due",
    "prescriptions:administration_take_back": "doses_due",
    "prescriptions:dispensing_queue": "dispensing_queue",
    # AIFA's pages (issue 18)
    "prescriptions:shortages": "shortages",
    "prescriptions:shortage_record": "shortages",
    "prescriptions:shortage_edit": "shortages",
    "prescriptions:criteria": "criteria",
    "notifications": "notifications",
    "notification-settings": "notifications",
    "prescriptions:stock:pharmacy": "stock",
    "prescriptions:stock:region": "stock",
}


def _section(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    if match.view_name in SECTIONS:
        return SECTIONS[match.view_name]
    if match.namespace == "reports":
        return "reports"
    if match.namespace == "office":
        return "office"
    if match.view_name.startswith("prescriptions:"):
        return "list"  # an action's page (a form sent back with its errors) is the prescription's page
    return ""


def staff(request):
    """The signed-in user's role (code and translated label) and what the menu offers them, for every page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {
            "registry_role": None,
            "registry_role_label": "",
            "nav_section": "",
            "nav_api": False,
            "unread_notifications": 0,
        }
    actor = actor_for(user)
    role = actor.role
    return {
        "registry_role": role,
        "registry_role_label": Role(role).label if role else "",
        "nav_section": _section(request),
        "nav_api": role in API_ROLES or actor.is_admin,
        # Only asked by the pages that offer "New prescription" to a prescriber: the prescriber's facts, one query
        # the rest of the request shares (registry.permissions).
        # The bell's count: one query, only on the pages that show the top bar.
        "unread_notifications": SimpleLazyObject(lambda: unread_count(user)),
        "may_prescribe_today": SimpleLazyObject(
            lambda: role == Role.PRESCRIBER and bool(actor.prescribing.centre_ids(today()))
        ),
    }
