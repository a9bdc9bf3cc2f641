"""The app's URLs plus one tiny view guarded by djangorestframework-api-key's `HasAPIKey`, as its docs show."""

from django.urls import include, path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_api_key.permissions import HasAPIKey

DRF_PATH = "/bench/drf-api-key/"


@api_view(["GET"])
@permission_classes([HasAPIKey])
def drf_protected(request: Request) -> Response:
    return Response({"authenticated": True})


urlpatterns = [
    path(DRF_PATH.strip("/") + "/", drf_protected),
    path("", include("config.urls")),
]
