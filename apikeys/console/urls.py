from django.contrib.auth import views as auth_views
from django.urls import path

from apikeys.console import views

urlpatterns = [
    path("", views.key_list, name="home"),
    path("api-keys/", views.key_list, name="key_list"),
    path("api-keys/create/", views.create_key, name="create_key"),
    path("api-keys/validate/", views.validate_json, name="validate_json"),
    path("api-keys/delete/", views.delete_keys, name="delete_keys"),
    path("audit/", views.audit_log, name="audit_log"),
    path("audit/export/", views.audit_export, name="audit_export"),
    path("api-keys/<str:key_id>/", views.key_detail, name="key_detail"),
    path("api-keys/<str:key_id>/check/", views.check_privileges, name="check_privileges"),
    path("api-keys/<str:key_id>/roll/", views.roll_key, name="roll_key"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
