"""The app's routes plus figure 7's bare view."""

from django.urls import include, path

from benchmarks.wrk_app import BARE_PATH, bare

urlpatterns = [path(BARE_PATH.lstrip("/"), bare), path("", include("config.urls"))]
