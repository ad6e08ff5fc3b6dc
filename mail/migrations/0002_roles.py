"""Give the roles the permissions of mail intake and of the communication templates (accounts/roles.py)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def sync_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    from accounts.roles import roles_sync

    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("mail", "0001_initial"),
        ("communications", "0004_default_templates"),
        ("accounts", "0002_roles"),
    ]
    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
