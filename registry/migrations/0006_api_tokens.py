"""API tokens stored as SHA-256 digests, with an expiry; the plain keys of DRF's table are hashed and dropped."""

import hashlib
from datetime import timedelta

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def hash_existing_tokens(apps, schema_editor):
    """Each plain DRF token becomes a digest that keeps working until TOKEN_TTL_HOURS from now."""
    Token = apps.get_model("authtoken", "Token")
    ApiToken = apps.get_model("registry", "ApiToken")
    expires_at = django.utils.timezone.now() + timedelta(hours=getattr(settings, "TOKEN_TTL_HOURS", 12))
    ApiToken.objects.bulk_create(
        ApiToken(
            user_id=token.user_id,
            digest=hashlib.sha256(token.key.encode()).hexdigest(),
            created_at=token.created,
            expires_at=expires_at,
        )
        for token in Token.objects.all()
    )
    Token.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_audit_keyed_hashes_and_guards"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApiToken",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "digest",
                    models.CharField(editable=False, max_length=64, unique=True, verbose_name="SHA-256 of the key"),
                ),
                (
                    "created_at",
                    models.DateTimeField(
                        default=django.utils.timezone.now, editable=False, verbose_name="issued at"
                    ),
                ),
                ("expires_at", models.DateTimeField(editable=False, verbose_name="expires at")),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="api_tokens",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
            ],
            options={
                "verbose_name": "API token",
                "verbose_name_plural": "API tokens",
                "ordering": ["-created_at"],
                "indexes": [models.Index(fields=["user", "expires_at"], name="apitoken_user_expiry")],
            },
        ),
        migrations.RunPython(hash_existing_tokens, migrations.RunPython.noop),
    ]
