from django.core.management.base import BaseCommand, CommandError

from apikeys.services.expiry_notices import notify_expiring_keys


class Command(BaseCommand):
    help = (
        "Email each owner one digest of their API keys that expire within the window, with links to roll them. "
        "A key is mentioned once per expiration: safe to run from cron every hour."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None, help="The window (default APIKEYS_EXPIRING_SOON_DAYS).")
        parser.add_argument("--base-url", default=None, help="The console's address for links (APIKEYS_CONSOLE_URL).")

    def handle(self, *args, days=None, base_url=None, **options):
        if days is not None and days < 1:
            raise CommandError("--days must be 1 or more")
        report = notify_expiring_keys(days, base_url)
        self.stdout.write(
            f"Sent {report.digests} digest{'s' if report.digests != 1 else ''} about {report.keys} "
            f"API key{'s' if report.keys != 1 else ''}; skipped {report.owners_without_email} "
            f"owner{'s' if report.owners_without_email != 1 else ''} without an email address "
            f"({report.keys_of_owners_without_email} key{'s' if report.keys_of_owners_without_email != 1 else ''})."
        )
        if report.failed_owners:
            raise CommandError(
                f"{report.failed_owners} digest(s) could not be sent: see the log; they are retried next run"
            )
