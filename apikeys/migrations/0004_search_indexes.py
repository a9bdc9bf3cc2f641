"""Fewer indexes to rewrite per changed key, and on PostgreSQL trigram indexes for substring search.

- The owner's foreign-key index goes: `apikey_owner` (owner, creation, id) starts with the same column.
- PostgreSQL: the `varchar_pattern_ops` copy of the primary key that Django adds for `LIKE` goes (no query
  matches ids by pattern), and one GIN `pg_trgm` index over name and username serves `LIKE`/`ILIKE`
  with any wildcard (the console's search, `wildcard`, `prefix`), which no B-tree can. Without the right to
  create the extension, the search still works, by scanning.
"""

from django.conf import settings
from django.db import migrations, models

TRIGRAM_INDEX = "apikey_search_trgm"


def add_postgresql_search(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'apikeys_apikey' AND indexname LIKE %s",
            ["apikeys_apikey_id_%_like"],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")
        cursor.execute("SAVEPOINT apikeys_trgm")
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # no right to create it: keep the plain scan
            cursor.execute("ROLLBACK TO SAVEPOINT apikeys_trgm")
            return
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON apikeys_apikey "
            "USING gin (name gin_trgm_ops, username gin_trgm_ops)"
        )


def remove_postgresql_search(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0003_audit_events"),
    ]

    operations = [
        migrations.AlterField(
            model_name="apikey",
            name="owner",
            field=models.ForeignKey(
                db_index=False,
                on_delete=models.deletion.CASCADE,
                related_name="api_keys",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(add_postgresql_search, remove_postgresql_search),
    ]
