from .permissions import actor_for


def staff(request):
    """The signed-in user's role, for menus in every page."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"registry_role": None}
    return {"registry_role": actor_for(user).role}
