from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("Registry: organisations, staff, patients, audit")

    def ready(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.signals import user_login_failed
        from django.db.models.signals import post_migrate, pre_save

        from . import (
            checks,  # noqa: F401 - registers the deployment checks
            tasks,  # noqa: F401 - registers the tasks by name (the services queue them by name)
        )
        from .admin_groups import sync_role_groups
        from .auth import middleware  # noqa: F401 - connects the sign-in time of sessions
        from .auth.lockout import audit_login_failed
        from .auth.tokens import revoke_tokens_when_the_password_changes
        from .regions import ensure_regions

        post_migrate.connect(ensure_regions, sender=self)
        user_login_failed.connect(audit_login_failed, dispatch_uid="registry.audit_login_failed")
        pre_save.connect(
            revoke_tokens_when_the_password_changes,
            sender=get_user_model(),
            dispatch_uid="registry.revoke_tokens_on_password_change",
        )
        # Not limited to this app: the groups also hold permissions of apps migrated after it (synced for the last).
        post_migrate.connect(sync_role_groups, dispatch_uid="registry.sync_role_groups")
