from django.urls import path

from . import api

urlpatterns = [
    path("_security/api_key", api.api_key_view),
    path("_security/api_key/_bulk_update", api.bulk_update_view),
    path("_security/api_key/grant", api.grant_view),
    path("_security/api_key/<str:ids>/_clear_cache", api.clear_cache_view),
    path("_security/api_key/<str:key_id>", api.update_view),
    path("_security/_query/api_key", api.query_view),
    path("_security/_authenticate", api.authenticate_view),
    path("_security/user/_has_privileges", api.has_privileges_view),
    path("_security/role", api.roles_view),
    path("_security/role/<str:name>", api.role_view),
    path("_security/user", api.users_view),
    path("_security/user/<str:username>", api.user_view),
    path("openapi.json", api.openapi_view),
]
