from .models import Role
from .permissions import actor_for


def staff(request):
    """The signed-in user's role (code and translated label), for menus in every page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"registry_role": None, "registry_role_label": ""}
    role = actor_for(user).role
    return {"registry_role": role, "registry_role_label": Role(role).label if role else ""}
