from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("apikeys.api_urls")),
    path("", include("apikeys.urls")),
]

# An outage of the database met outside a view answers 503, not 500 (apikeys/middleware.py).
handler500 = "apikeys.middleware.server_error"
