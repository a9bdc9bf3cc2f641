"""Each owner's number of keys, kept by the database itself (the triggers of `apikeys.infra.triggers`), filled from the
keys already there."""

from django.db import migrations, models


def add_triggers(apps, schema_editor):
    from apikeys.infra.triggers import ensure_owner_counts

    ensure_owner_counts(schema_editor.connection)


def drop_triggers(apps, schema_editor):
    from apikeys.infra.triggers import POSTGRESQL, SQLITE

    connection = schema_editor.connection
    for name in {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(connection.vendor, {}):
        on_table = " ON apikeys_apikey" if connection.vendor == "postgresql" else ""
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}{on_table}")


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0005_drop_type_sort_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="OwnerKeyCount",
            fields=[
                ("username", models.CharField(max_length=150, primary_key=True, serialize=False)),
                ("keys", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(add_triggers, drop_triggers),
    ]
