"""Role mappings, for those who hold `manage_security`: the list, a page to create or edit one (its rules in the
JSON editor the role descriptors use, checked as you type), and deleting one after a confirmation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from apikeys.access.principals import Principal
from apikeys.console.forms import RoleMappingForm, pretty
from apikeys.console.pages import render_page_or_fragment
from apikeys.console.presenters import NO_SECURITY_PRIVILEGE
from apikeys.domain.errors import ApiError
from apikeys.domain.role_mappings import mapping_to_dict, summary
from apikeys.models import RoleMapping
from apikeys.services import role_mappings

EXAMPLE_RULES = {"all": [{"field": {"realm.name": "oidc1"}}, {"field": {"groups": "staff"}}]}


def _manager(request: HttpRequest) -> Principal:
    principal = Principal.signed_in(request)
    if not principal.has_cluster("manage_security"):
        raise PermissionDenied(NO_SECURITY_PRIVILEGE)
    return principal


def _mapping_or_404(name: str) -> RoleMapping:
    mapping = RoleMapping.objects.filter(name=name).first()
    if mapping is None:
        raise Http404("No such role mapping")
    return mapping


@login_required
@require_safe
def role_mapping_list(request: HttpRequest) -> HttpResponse:
    _manager(request)
    rows = [
        {"mapping": m, "summary": summary(m.rules), "templates": len(m.role_templates)}
        for m in RoleMapping.objects.all()
    ]
    return render(request, "apikeys/role_mappings.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def role_mapping_edit(request: HttpRequest, name: str | None = None) -> HttpResponse:
    principal = _manager(request)
    existing = _mapping_or_404(name) if name is not None else None
    if request.method == "POST":
        form = RoleMappingForm(request.POST)
        if form.is_valid():
            target = name if existing else (form.cleaned_data["name"] or "").strip()
            kept = mapping_to_dict(existing.as_stored()) if existing else {}
            try:
                if not target:
                    raise ApiError("Enter a name for the role mapping.", path="/name")
                role_mappings.put_role_mapping(principal, target, form.body(kept))
            except ApiError as error:
                field = error.path.strip("/").split("/")[0] if error.path.strip("/") else None
                form.add_error(field if field in form.fields else None, error.message)
            else:
                messages.success(request, f"Role mapping '{target}' saved.")
                return redirect("role_mappings")
    elif existing:
        initial = {"enabled": existing.enabled, "roles": ", ".join(existing.roles), "rules": pretty(existing.rules)}
        form = RoleMappingForm(initial=initial)
    else:
        form = RoleMappingForm(initial={"enabled": True, "rules": pretty(EXAMPLE_RULES)})
    context = {"form": form, "mapping": existing, "rules_value": form["rules"].value() or ""}
    return render(request, "apikeys/role_mapping_edit.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def role_mapping_delete(request: HttpRequest, name: str) -> HttpResponse:
    principal = _manager(request)
    mapping = _mapping_or_404(name)
    if request.method == "POST":
        role_mappings.delete_role_mapping(principal, mapping.name)
        messages.success(request, f"Role mapping '{mapping.name}' deleted.")
        return redirect("role_mappings")
    context = {"mapping": mapping}
    return render_page_or_fragment(
        request, "apikeys/role_mapping_delete.html", "apikeys/_role_mapping_confirm.html", context
    )
