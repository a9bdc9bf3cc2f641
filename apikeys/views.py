"""Console views: thin – parse, call one service or query, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .principals import Principal


@login_required
def home(request: HttpRequest) -> HttpResponse:
    principal = Principal.for_user(request.user)
    return render(
        request,
        "apikeys/home.html",
        {"can_manage_keys": principal.can_manage_own_keys or principal.can_read_all_keys},
    )
