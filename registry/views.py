from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import selectors
from .models import Role
from .permissions import actor_for


@login_required
def home(request):
    """Each role's starting page: what they can do and where."""
    actor = actor_for(request.user)
    context = {
        "actor": actor,
        "centres": selectors.centre_list(user=request.user)[:50],
        "prescribing_centres": selectors.prescribing_centres(user=request.user)
        if actor.role == Role.PRESCRIBER
        else [],
    }
    return render(request, "registry/home.html", context)


@require_GET
def health(request):
    """Liveness for a load balancer: the app answers and the database is reachable."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
