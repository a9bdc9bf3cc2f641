"""What every console page needs to know: how one signs in, and of the signed-in user, whether they may read the
audit log and their realm when it is not the native one."""

from django.conf import settings
from django.http import HttpRequest

from apikeys.access.permissions import audit_refusal
from apikeys.access.principals import Principal
from apikeys.infra import oidc
from apikeys.models import NATIVE_REALM


def console(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {
            "can_read_audit": False,
            "sso_name": settings.APIKEYS_OIDC_NAME if oidc.configured() else "",
            "password_sign_in": settings.APIKEYS_PASSWORD_SIGN_IN,
        }
    principal = Principal.signed_in(request)
    return {
        "can_read_audit": audit_refusal(principal) is None,
        "can_manage_security": principal.has_cluster("manage_security"),
        "user_realm": "" if user.realm == NATIVE_REALM else user.realm,
    }
