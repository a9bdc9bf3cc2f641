"""What every console page needs to know about the signed-in user."""

from django.http import HttpRequest

from apikeys.access.permissions import audit_refusal
from apikeys.access.principals import Principal


def console(request: HttpRequest) -> dict[str, bool]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can_read_audit": False}
    return {"can_read_audit": audit_refusal(Principal.signed_in(request)) is None}
