"""Each owner's number of keys, kept by the database itself: a trigger on every insert and delete of keys (and
on the rare change of a key's username) adjusts `apikeys_ownerkeycount`, so every way of writing keys counts,
the ORM's bulk inserts and cascades included. Filled from the keys already there."""

from django.db import migrations, models

SQLITE_TRIGGERS = [
    """CREATE TRIGGER apikeys_count_insert AFTER INSERT ON apikeys_apikey BEGIN
        INSERT INTO apikeys_ownerkeycount (username, keys) VALUES (NEW.username, 1)
        ON CONFLICT (username) DO UPDATE SET keys = keys + 1;
    END""",
    """CREATE TRIGGER apikeys_count_delete AFTER DELETE ON apikeys_apikey BEGIN
        UPDATE apikeys_ownerkeycount SET keys = keys - 1 WHERE username = OLD.username;
    END""",
    """CREATE TRIGGER apikeys_count_rename AFTER UPDATE OF username ON apikeys_apikey
    WHEN OLD.username <> NEW.username BEGIN
        UPDATE apikeys_ownerkeycount SET keys = keys - 1 WHERE username = OLD.username;
        INSERT INTO apikeys_ownerkeycount (username, keys) VALUES (NEW.username, 1)
        ON CONFLICT (username) DO UPDATE SET keys = keys + 1;
    END""",
]
POSTGRESQL_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION apikeys_count_keys() RETURNS trigger AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            UPDATE apikeys_ownerkeycount SET keys = keys - 1 WHERE username = OLD.username;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO apikeys_ownerkeycount (username, keys) VALUES (NEW.username, 1)
            ON CONFLICT (username) DO UPDATE SET keys = apikeys_ownerkeycount.keys + 1;
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER apikeys_count_insert_delete AFTER INSERT OR DELETE ON apikeys_apikey
    FOR EACH ROW EXECUTE FUNCTION apikeys_count_keys()""",
    """CREATE TRIGGER apikeys_count_rename AFTER UPDATE OF username ON apikeys_apikey
    FOR EACH ROW WHEN (OLD.username IS DISTINCT FROM NEW.username) EXECUTE FUNCTION apikeys_count_keys()""",
]
DROP = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS apikeys_count_insert",
        "DROP TRIGGER IF EXISTS apikeys_count_delete",
        "DROP TRIGGER IF EXISTS apikeys_count_rename",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS apikeys_count_insert_delete ON apikeys_apikey",
        "DROP TRIGGER IF EXISTS apikeys_count_rename ON apikeys_apikey",
        "DROP FUNCTION IF EXISTS apikeys_count_keys()",
    ],
}


def add_triggers(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": SQLITE_TRIGGERS, "postgresql": POSTGRESQL_TRIGGERS}.get(vendor)
    if statements is None:
        raise RuntimeError(f"owner key counts need triggers written for {vendor}")
    for statement in statements:
        schema_editor.execute(statement)
    schema_editor.execute(
        "INSERT INTO apikeys_ownerkeycount (username, keys) "
        "SELECT username, COUNT(*) FROM apikeys_apikey GROUP BY username"
    )


def drop_triggers(apps, schema_editor):
    for statement in DROP.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement)


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
