from django.core.management.base import BaseCommand

from apikeys.services import purge_api_keys


class Command(BaseCommand):
    help = "Delete for good the API keys invalidated or expired longer ago than the retention period."

    def add_arguments(self, parser):
        parser.add_argument("--retention-days", type=int, default=None, help="Override APIKEYS_RETENTION_DAYS.")

    def handle(self, *args, retention_days=None, **options):
        count = purge_api_keys(retention_days=retention_days)
        self.stdout.write(f"Purged {count} API key{'s' if count != 1 else ''}.")
