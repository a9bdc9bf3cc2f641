import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from apikeys.records import audit, audit_delivery


class Command(BaseCommand):
    help = (
        "Send the audit events waiting in the outbox to APIKEYS_AUDIT_WEBHOOK_URL: in a loop until stopped (the "
        "default; gunicorn's workers also send, see README Operations), or --once, or show the backlog (--status)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Send what waits, then exit (non-zero on failure).")
        parser.add_argument("--status", action="store_true", help="Print how many events wait, and since when.")

    def handle(self, *args, once=False, status=False, **options):
        if status:
            waiting, oldest = audit_delivery.backlog()
            since = f"; the oldest happened at {oldest:%Y-%m-%d %H:%M:%S} UTC" if oldest else ""
            self.stdout.write(f"{waiting} audit event{'s' if waiting != 1 else ''} waiting to be sent{since}.")
            return
        if not audit.webhook_configured():
            raise CommandError("APIKEYS_AUDIT_WEBHOOK_URL is not set: there is nowhere to send audit events")
        stop = threading.Event()
        for name in (signal.SIGTERM, signal.SIGINT):
            signal.signal(name, lambda *_: (stop.set(), audit.outbox_filled.set()))
        try:
            sent = audit_delivery.run(stop, once=once)
        except audit_delivery.DeliveryFailed as error:
            raise CommandError(f"audit events not delivered: {error}; they wait for the next run") from error
        self.stdout.write(f"Sent {sent} audit event{'s' if sent != 1 else ''}.")
