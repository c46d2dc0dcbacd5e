"""Production keeps the audit anchors outside the database too (issue 17): with ``AUDIT_ANCHOR_DIR`` unset, a table
owner who empties the anchors and deletes a chain's head leaves nothing to detect it, so ``check --deploy`` refuses
it; and events are anchored within a minute."""

from django.core import checks

from registry.checks import ANCHOR_STORE_MISSING, ANCHOR_STORE_UNWRITABLE


def _deploy_ids() -> set[str]:
    return {message.id for message in checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])}


def test_production_without_an_anchor_store_fails_the_deploy_check(settings):
    settings.DEBUG = False
    settings.AUDIT_ANCHOR_DIR = ""

    assert ANCHOR_STORE_MISSING in _deploy_ids()


def test_an_anchor_store_that_cannot_be_written_fails_the_deploy_check(settings, tmp_path):
    settings.DEBUG = False
    blocker = tmp_path / "a-file-not-a-folder"
    blocker.write_text("")
    settings.AUDIT_ANCHOR_DIR = str(blocker / "anchors")

    assert ANCHOR_STORE_UNWRITABLE in _deploy_ids()


def test_a_writable_anchor_store_passes(settings, tmp_path):
    settings.DEBUG = False
    settings.AUDIT_ANCHOR_DIR = str(tmp_path / "anchors")  # created on the first anchor

    assert not _deploy_ids() & {ANCHOR_STORE_MISSING, ANCHOR_STORE_UNWRITABLE}


def test_development_may_keep_the_anchors_in_the_table_only(settings):
    settings.DEBUG = True
    settings.AUDIT_ANCHOR_DIR = ""

    assert ANCHOR_STORE_MISSING not in _deploy_ids()


def test_the_audit_anchor_runs_every_minute_by_default(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["audit-anchor"]["schedule"]

    assert schedule.minute == set(range(60)) and schedule.hour == set(range(24))
