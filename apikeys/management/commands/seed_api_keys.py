"""Add N realistic API keys fast: bulk inserts, one precomputed hash shared by every seeded key."""

import json
import random
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from apikeys.domain import keys
from apikeys.domain.privileges import validate_role_descriptor
from apikeys.infra.caching import bump_generation
from apikeys.infra.planner import refresh_statistics
from apikeys.models import ApiKey, Role, User

SERVICES = ["billing", "search", "ingest", "fleet", "beats", "reports", "etl", "backup", "alerts", "sync", "api", "web"]
ENVIRONMENTS = ["prod", "staging", "dev", "qa"]
TEAMS = ["platform", "data", "payments", "growth", "security", "ops"]
DESCRIPTORS = [
    {},
    {
        "books-read-only": validate_role_descriptor(
            "books-read-only", {"indices": [{"names": ["books"], "privileges": ["read"]}]}
        )
    },
    {
        "logs-writer": validate_role_descriptor(
            "logs-writer", {"indices": [{"names": ["logs-*"], "privileges": ["write"]}]}
        )
    },
]
OWNER_ROLE = {"cluster": ["manage_own_api_key"], "indices": [{"names": ["books", "logs-*"], "privileges": ["all"]}]}
BATCH = 2000
COLUMNS = [
    "id",
    "name",
    "type",
    "owner_id",
    "username",
    "realm",
    "creation",
    "expiration",
    "invalidated",
    "invalidation",
    "managed",
    "hash",
    "role_descriptors",
    "limited_by",
    "metadata",
    "access",
]


def fraction(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise ValueError
    return number


class Command(BaseCommand):
    help = "Add N realistic API keys (names, owners, a year of creation dates, metadata, descriptors)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--owners", type=int, default=10)
        parser.add_argument("--expired-fraction", type=fraction, default=0.1)
        parser.add_argument("--invalidated-fraction", type=fraction, default=0.05)
        parser.add_argument("--seed", type=int, default=None, help="Random seed, for repeatable data.")

    def handle(self, *args, count, owners, expired_fraction, invalidated_fraction, seed, **options):
        if count < 0 or owners < 1:
            raise CommandError("--count must be 0 or more and --owners at least 1")
        rng = random.Random(seed)
        role, _ = Role.objects.get_or_create(
            name="seeded_key_owner", defaults={"descriptor": validate_role_descriptor("seeded_key_owner", OWNER_ROLE)}
        )
        people = []
        for i in range(owners):
            user, created = User.objects.get_or_create(
                username=f"owner-{i + 1:04d}", defaults={"email": f"owner-{i + 1}@example.com"}
            )
            if created:
                user.set_unusable_password()
                user.role_names = [role.name]
                user.save(update_fields=["password", "role_names"])
            people.append(user)
        limited_by = json.dumps({role.name: role.descriptor})
        descriptors = [json.dumps(d) for d in DESCRIPTORS]
        # Plain executemany: the ORM's per-field preparation would be most of the time at 100,000 rows.
        table = connection.ops.quote_name(ApiKey._meta.db_table)
        insert = f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"

        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB: index pages stay in memory while seeding

        def stamp(moment):
            return connection.ops.adapt_datetimefield_value(moment) if moment is not None else None

        shared_hash = keys.hash_secret(keys.generate_secret())
        now = timezone.now().replace(microsecond=0)
        year = 365 * 86400
        made = 0
        while made < count:
            batch = []
            for _ in range(min(BATCH, count - made)):
                owner = rng.choice(people)
                created_at = now - timedelta(seconds=rng.randrange(year))
                expiration = None
                roll = rng.random()
                if roll < expired_fraction:
                    expiration = created_at + timedelta(
                        seconds=rng.randrange(1, max(2, int((now - created_at).total_seconds())))
                    )
                elif roll < 0.5:
                    expiration = now + timedelta(days=rng.randrange(1, 400))
                invalidated = rng.random() < invalidated_fraction
                service, env = rng.choice(SERVICES), rng.choice(ENVIRONMENTS)
                batch.append(
                    (
                        keys.generate_id(),
                        f"{service}-{env}-{made + len(batch) + 1}",
                        "rest",
                        owner.pk,
                        owner.username,
                        owner.realm,
                        stamp(created_at),
                        stamp(expiration),
                        invalidated,
                        stamp(now - timedelta(seconds=rng.randrange(86400 * 6))) if invalidated else None,
                        False,
                        shared_hash,
                        rng.choice(descriptors),
                        limited_by,
                        json.dumps({"env": env, "team": rng.choice(TEAMS), "service": service}),
                        "{}",
                    )
                )
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(insert, batch)
            made += len(batch)
        refresh_statistics()  # a bulk load changes what the planner should expect
        bump_generation()
        self.stdout.write(f"Added {made} API keys for {owners} owner{'s' if owners != 1 else ''}.")
