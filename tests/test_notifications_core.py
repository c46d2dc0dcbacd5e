"""The notifications core: once per person and event, rendered in the reader's language."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation

from registry.models import Notification
from registry.notifications import notify, render_message

pytestmark = pytest.mark.django_db


@pytest.fixture
def users():
    User = get_user_model()
    return [User.objects.create_user(f"n{i}", password="x") for i in range(2)]


def test_the_same_event_notifies_each_person_once(users):
    notify("report_ready", users + [users[0], None], event_key="report:1")
    notify("report_ready", users, event_key="report:1")
    assert Notification.objects.count() == 2
    notify("report_ready", users[:1], event_key="report:2")
    assert Notification.objects.filter(recipient=users[0]).count() == 2


def test_an_unknown_kind_is_refused(users):
    with pytest.raises(ValueError):
        notify("no_such_kind", users, event_key="x")


def test_the_message_is_rendered_in_the_readers_language(users):
    notify("dispensed", users[:1], event_key="d:1", params={"syringes": 4, "centre": "Sacco"})
    notification = Notification.objects.get()
    with translation.override("en"):
        assert render_message(notification) == "4 syringes dispensed for Sacco."
    with translation.override("it"):
        assert "Sacco" in render_message(notification)


def test_an_inactive_person_is_not_notified(users):
    users[1].is_active = False
    users[1].save()
    assert notify("report_ready", users, event_key="r") == 1
