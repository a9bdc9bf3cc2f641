"""`manage.py backup PATH`: a consistent copy of the database while the server runs."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

# Pages copied per step of SQLite's online backup: writers may go on between steps.
PAGES_PER_STEP = 1024


class Command(BaseCommand):
    help = (
        "Write a consistent copy of the SQLite database to PATH while the server runs (SQLite's online backup); "
        "on PostgreSQL, print the pg_dump command that does it."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="Where to write the copy (a new file; an existing one is replaced).")

    def handle(self, *args, path: str, **options):
        settings = connection.settings_dict
        if connection.vendor == "postgresql":
            self.stdout.write(
                "PostgreSQL is backed up with its own tool, consistent while the server runs:\n"
                f"  {pg_dump_command(settings, path)}\n"
                "Restore into an empty database with: pg_restore --no-owner --dbname <DATABASE_URL> " + path
            )
            return
        if connection.vendor != "sqlite":
            raise CommandError(f"no backup for the {connection.vendor} backend")
        target = Path(path).resolve()
        if target == Path(settings["NAME"]).resolve():
            raise CommandError("the copy must not be written over the database itself")
        target.parent.mkdir(parents=True, exist_ok=True)
        # Written beside the target, then renamed: a reader never sees half a copy.
        handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(handle)
        try:
            source = sqlite3.connect(settings["NAME"], timeout=20)
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy, pages=PAGES_PER_STEP)
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                (check,) = copy.execute("PRAGMA integrity_check").fetchone()
            finally:
                copy.close()
                source.close()
            if check != "ok":
                raise CommandError(f"the copy failed its integrity check: {check}")
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
        self.stdout.write(f"Backed up {settings['NAME']} to {target} ({target.stat().st_size:,} bytes).")


def pg_dump_command(settings: dict, path: str) -> str:
    parts = ["pg_dump", "--format=custom", f"--file={path}"]
    if settings.get("HOST"):
        parts.append(f"--host={settings['HOST']}")
    if settings.get("PORT"):
        parts.append(f"--port={settings['PORT']}")
    if settings.get("USER"):
        parts.append(f"--username={settings['USER']}")
    parts.append(settings["NAME"])
    return " ".join(parts)
