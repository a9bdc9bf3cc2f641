"""Refusals (`access.permissions`), denied actions (`ActionDenied`) and per-key outcomes of services, in
Elasticsearch's words and shapes."""

from __future__ import annotations

from typing import Any

from apikeys.access.permissions import Refusal, Refused
from apikeys.access.principals import Principal
from apikeys.domain.errors import ActionDenied, ApiError, Forbidden, NotFound, Requester
from apikeys.domain.privileges import actions
from apikeys.domain.privileges.actions import privileges_granting
from apikeys.models import KeyType
from apikeys.services.invalidate import Invalidation
from apikeys.services.update import BulkUpdate

# The action each verb needs, for REST and cross-cluster keys.
ACTIONS = {
    "update": (actions.API_KEY_UPDATE, actions.CROSS_CLUSTER_UPDATE),
    "roll": (actions.API_KEY_ROLL, actions.CROSS_CLUSTER_ROLL),
}


def requester_text(requester: Requester) -> str:
    """Who asked, as Elasticsearch's `AuthorizationDenialMessages` names them: an API key by its id and owner
    (always "user", whoever owns it), a service account, or a user."""
    if requester.kind == Requester.API_KEY:
        return f"API key id [{requester.api_key_id}] of user [{requester.username}]"
    if requester.kind == Requester.SERVICE_ACCOUNT:
        return f"service account [{requester.username}]"
    return f"user [{requester.username}]"


def roles_text(requester: Requester) -> str:
    """A user's roles as Elasticsearch's denials give them: the effective ones, and any assigned that were not
    found; nothing for API keys and service accounts, which hold privileges, not roles."""
    if requester.kind != Requester.USER:
        return ""
    text = f" with effective roles [{','.join(requester.effective_roles)}]"
    if requester.missing_roles:
        text += f" (assigned roles [{','.join(requester.missing_roles)}] were not found)"
    return text


def denial_reason(denied: ActionDenied) -> str:
    """`action [A] is unauthorized for <who> <roles>`, then what would have granted it, or, for a refused run-as,
    why (Elasticsearch's `actionDenied` and `runAsDenied`)."""
    who = requester_text(denied.requester)
    reason = f"action [{denied.action}] is unauthorized for {who}{roles_text(denied.requester)}"
    if denied.run_as:
        return f"{reason}, because {who} is unauthorized to run as [{denied.run_as}]"
    if granting := privileges_granting(denied.action, denied.own):
        reason += f", this action is granted by the cluster privileges [{','.join(granting)}]"
    return reason


def worded(error: ApiError) -> ApiError:
    """`error` ready for the wire: a denied action worded as Elasticsearch words it; any other error as it is."""
    if isinstance(error, ActionDenied):
        return Forbidden(denial_reason(error), headers=error.headers)
    return error


def restricted_by_workflow() -> Forbidden:
    """Any request of a key restricted to workflows (`restriction.workflows`): none of these endpoints is one."""
    return Forbidden("access restricted by workflow", error_type="role_restriction_exception")


def privileges_of_a_key_with_descriptors() -> ApiError:
    """`GET /_security/user/_privileges` by an API key with role descriptors of its own: what it holds is their
    intersection with its owner's, which Elasticsearch does not list."""
    return ApiError(
        "Cannot retrieve privileges for API keys with assigned role descriptors. "
        "Please use the Get API key information API https://ela.st/es-api-get-api-key"
    )


def refusal_error(refused: Refused, principal: Principal) -> ApiError:
    """An update's or a roll's refusal as Elasticsearch says it."""
    refusal, key_id, kind, verb = refused.refusal, refused.key_id, refused.kind, refused.verb
    if refusal is Refusal.API_KEY:
        return ApiError(f"authentication via API key not supported: only the owner user can {verb} an API key")
    if refusal is Refusal.NO_PRIVILEGE:
        rest, cross_cluster = ACTIONS[verb]
        return worded(principal.denied(rest if kind == KeyType.REST else cross_cluster))
    if refusal in (Refusal.NOT_OWNER, Refusal.NOT_FOUND):
        return NotFound(f"no API key owned by requesting user found for ID [{key_id}]")
    if refusal is Refusal.OTHER_TYPE:
        other = KeyType.CROSS_CLUSTER if kind == KeyType.REST else KeyType.REST
        return ApiError(f"cannot update API key of type [{other}] while expected type is [{kind}]")
    if refusal is Refusal.ROLLED:
        return ApiError(f"API key [{key_id}] has already been rolled: its successor is [{refused.successor}]")
    return ApiError(f"cannot {verb} {refusal.value} API key [{key_id}]")


def invalidation_refusal(refusal: Refusal, key_id: str) -> ApiError:
    """Why an invalidation left a key alone. Only a cross-cluster key is ever refused by the key: the request's
    scope (`invalidation_scope`) holds only keys the caller may address."""
    if refusal is Refusal.CROSS_CLUSTER:
        return Forbidden(
            f"Cannot invalidate cross-cluster API key [{key_id}]. "
            "This requires [manage_security] cluster privilege or higher"
        )
    return Forbidden(f"Cannot invalidate API key [{key_id}]: {refusal.label}")


def error_detail(error: ApiError) -> dict[str, str]:
    return {"type": error.error_type, "reason": error.reason}


def invalidation_answer(outcome: Invalidation) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "invalidated_api_keys": outcome.invalidated,
        "previously_invalidated_api_keys": outcome.previously,
        "error_count": len(outcome.refused),
    }
    if outcome.refused:
        answer["error_details"] = [
            error_detail(invalidation_refusal(refusal, key_id)) for key_id, refusal in outcome.refused.items()
        ]
    return answer


def bulk_update_answer(outcome: BulkUpdate, principal: Principal) -> dict[str, Any]:
    answer: dict[str, Any] = {"updated": outcome.updated, "noops": outcome.noops}
    if outcome.refused:
        details = {
            key_id: error_detail(refusal_error(refused, principal)) for key_id, refused in outcome.refused.items()
        }
        answer["errors"] = {"count": len(details), "details": details}
    return answer
