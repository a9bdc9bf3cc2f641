from django.core.management.base import BaseCommand, CommandError

from apikeys.domain.errors import ApiError
from apikeys.services import create_managed_api_key


class Command(BaseCommand):
    help = "Create an API key owned by the console's service account (metadata.managed: true); print it once."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--expiration", default=None, help="A duration such as 30d; default: never expires.")

    def handle(self, *args, name, expiration, **options):
        try:
            created = create_managed_api_key(name, expiration)
        except ApiError as exc:
            raise CommandError(exc.reason) from exc
        self.stdout.write(created.encoded)
