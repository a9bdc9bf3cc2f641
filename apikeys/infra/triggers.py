"""Database triggers that keep each owner's number of keys (`OwnerKeyCount`) true whatever writes the keys: the
ORM's bulk inserts, raw SQL and cascades included.

SQLite drops a table's triggers when a migration rebuilds the table (it does so to add or change most columns),
so after every `migrate` the triggers are checked and, when missing, made again and the counts recounted.
"""

from __future__ import annotations

from django.db import connection as default_connection
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

SQLITE = {
    "apikeys_count_insert": """CREATE TRIGGER apikeys_count_insert AFTER INSERT ON apikeys_apikey BEGIN
        INSERT INTO apikeys_ownerkeycount (username, keys) VALUES (NEW.username, 1)
        ON CONFLICT (username) DO UPDATE SET keys = keys + 1;
    END""",
    "apikeys_count_delete": """CREATE TRIGGER apikeys_count_delete AFTER DELETE ON apikeys_apikey BEGIN
        UPDATE apikeys_ownerkeycount SET keys = keys - 1 WHERE username = OLD.username;
    END""",
    "apikeys_count_rename": """CREATE TRIGGER apikeys_count_rename AFTER UPDATE OF username ON apikeys_apikey
    WHEN OLD.username <> NEW.username BEGIN
        UPDATE apikeys_ownerkeycount SET keys = keys - 1 WHERE username = OLD.username;
        INSERT INTO apikeys_ownerkeycount (username, keys) VALUES (NEW.username, 1)
        ON CONFLICT (username) DO UPDATE SET keys = keys + 1;
    END""",
}
POSTGRESQL_FUNCTION = """CREATE OR REPLACE FUNCTION apikeys_count_keys() RETURNS trigger AS $$
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
$$ LANGUAGE plpgsql"""
POSTGRESQL = {
    "apikeys_count_insert_delete": """CREATE TRIGGER apikeys_count_insert_delete AFTER INSERT OR DELETE ON apikeys_apikey
    FOR EACH ROW EXECUTE FUNCTION apikeys_count_keys()""",
    "apikeys_count_rename": """CREATE TRIGGER apikeys_count_rename AFTER UPDATE OF username ON apikeys_apikey
    FOR EACH ROW WHEN (OLD.username IS DISTINCT FROM NEW.username) EXECUTE FUNCTION apikeys_count_keys()""",
}


def _present(connection: BaseDatabaseWrapper) -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'apikeys_apikey'")
        else:
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'apikeys_apikey'::regclass AND NOT tgisinternal"
            )
        return {name for (name,) in cursor.fetchall()}


def ensure_owner_counts(connection: BaseDatabaseWrapper = default_connection) -> bool:
    """Make the triggers that are missing, and then count every owner's keys afresh; True when it had to."""
    triggers = {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(connection.vendor)
    if triggers is None:
        raise RuntimeError(f"owner key counts need triggers written for {connection.vendor}")
    missing = [sql for name, sql in triggers.items() if name not in _present(connection)]
    if not missing:
        return False
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(POSTGRESQL_FUNCTION)
        for sql in missing:
            cursor.execute(sql)
        cursor.execute("DELETE FROM apikeys_ownerkeycount")
        cursor.execute(
            "INSERT INTO apikeys_ownerkeycount (username, keys) "
            "SELECT username, COUNT(*) FROM apikeys_apikey GROUP BY username"
        )
    return True


def ensure_after_migrate(using: str, **kwargs) -> None:
    """post_migrate: the triggers survive whatever the migrations did to the keys table."""
    ensure_owner_counts(connections[using])
