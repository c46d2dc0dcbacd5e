from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from . import health as health_checks
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
    """For a load balancer or a monitor: database, cache and broker each checked; 503 when one is down."""
    healthy, body = health_checks.health_report()
    response = JsonResponse(body, status=200 if healthy else 503)
    response["Cache-Control"] = "no-store"
    return response
