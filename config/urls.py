from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("apikeys.api.urls")),
    path("", include("apikeys.console.urls")),
]

# An outage of the database met outside a view answers 503, not 500 (apikeys/infra/outages.py).
handler500 = "apikeys.infra.outages.server_error"
