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
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = 'apikeys_apikey' AND indexname LIKE %s",
            ["apikeys_apikey_id_%_like"],
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")
        cursor.execute("SAVEPOINT apikeys_trgm")
        try:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            # Hosts often keep extensions in a schema of their own, outside the search path.
            cursor.execute(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                "WHERE e.extname = 'pg_trgm'"
            )
            ops = f"{connection.ops.quote_name(cursor.fetchone()[0])}.gin_trgm_ops"
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {TRIGRAM_INDEX} ON apikeys_apikey USING gin (name {ops}, username {ops})"
            )
        except Exception:  # no right to create the extension, or no index of it: search scans, as before
            cursor.execute("ROLLBACK TO SAVEPOINT apikeys_trgm")
        else:
            cursor.execute("RELEASE SAVEPOINT apikeys_trgm")


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
