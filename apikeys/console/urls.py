from django.urls import path

from apikeys.console import views

urlpatterns = [
    path("", views.key_list, name="home"),
    path("api-keys/", views.key_list, name="key_list"),
    path("api-keys/create/", views.create_key, name="create_key"),
    path("api-keys/validate/", views.validate_json, name="validate_json"),
    path("api-keys/delete/", views.delete_keys, name="delete_keys"),
    path("audit/", views.audit_log, name="audit_log"),
    path("role-mappings/", views.role_mapping_list, name="role_mappings"),
    path("role-mappings/new/", views.role_mapping_edit, name="role_mapping_create"),
    path("role-mappings/<str:name>/", views.role_mapping_edit, name="role_mapping_edit"),
    path("role-mappings/<str:name>/delete/", views.role_mapping_delete, name="role_mapping_delete"),
    path("audit/export/", views.audit_export, name="audit_export"),
    path("api-keys/<str:key_id>/", views.key_detail, name="key_detail"),
    path("api-keys/<str:key_id>/check/", views.check_privileges, name="check_privileges"),
    path("api-keys/<str:key_id>/roll/", views.roll_key, name="roll_key"),
    path("api-keys/<str:key_id>/clone/", views.clone_key, name="clone_key"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", views.sign_out, name="logout"),
    path("accounts/oidc/", views.single_sign_on_start, name="oidc_start"),
    path("accounts/oidc/callback/", views.single_sign_on_callback, name="oidc_callback"),
]
