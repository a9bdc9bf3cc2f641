from django.urls import path

from apikeys.api import keys, openapi_view, operations, security

urlpatterns = [
    path("_security/api_key", keys.api_key_view),
    path("_security/api_key/_bulk_update", keys.bulk_update_view),
    path("_security/api_key/grant", keys.grant_view),
    path("_security/api_key/_bulk_grant", keys.bulk_grant_view),
    path("_security/api_key/<str:ids>/_clear_cache", keys.clear_cache_view),
    path("_security/api_key/<str:key_id>", keys.update_view),
    path("_security/api_key/<str:key_id>/_roll", keys.roll_view),
    path("_security/api_key/<str:key_id>/_usage", keys.usage_view),
    path("_security/_query/api_key", keys.query_view),
    path("_security/cross_cluster/api_key", keys.cross_cluster_view),
    path("_security/cross_cluster/api_key/<str:key_id>", keys.cross_cluster_update_view),
    path("_security/_authenticate", security.authenticate_view),
    path("_security/user/_has_privileges", security.has_privileges_view),
    path("_security/role", security.roles_view),
    path("_security/role/<str:name>", security.role_view),
    path("_security/user", security.users_view),
    path("_security/user/<str:username>", security.user_view),
    path("_security/oauth2/token", security.token_view),
    path("_security/privilege", security.privileges_view),
    path("_security/privilege/", security.privileges_view),
    path("_security/privilege/<str:application>", security.application_privileges_view),
    path("_security/privilege/<str:application>/<str:name>", security.privilege_view),
    path("openapi.json", openapi_view),
    path("metrics", operations.metrics_view),
    path("healthz", operations.healthz_view),
    path("readyz", operations.readyz_view),
]
