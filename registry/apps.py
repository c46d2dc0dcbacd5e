from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("Registry: organisations, staff, patients, audit")

    def ready(self):
        from django.db.models.signals import post_migrate

        from .admin_groups import sync_role_groups
        from .regions import ensure_regions

        post_migrate.connect(ensure_regions, sender=self)
        # Not limited to this app: the groups also hold permissions of apps migrated after it.
        post_migrate.connect(sync_role_groups, dispatch_uid="registry.sync_role_groups")
