import secrets

from django.core.management.base import BaseCommand

from apikeys.models import User
from config import env


class Command(BaseCommand):
    help = "Create the superuser `admin` with a generated password on first run and say how to sign in."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=env.integer("PORT", 8000))

    def handle(self, *args, port, **options):
        url = f"http://127.0.0.1:{port}/"
        if User.objects.filter(username="admin").exists():
            self.stdout.write(
                f"Sign in at {url} as admin (password set on first run; reset it with "
                "`.venv/bin/python manage.py changepassword admin`)"
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "", password)
        self.stdout.write(f"Sign in at {url} as admin with password {password}")
