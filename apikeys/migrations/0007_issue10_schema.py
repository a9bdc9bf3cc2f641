"""Issue 10: users hold role names (a role may be created after the user), application privileges, OAuth2
tokens kept as hashes, and cross-cluster keys (their `access`; a partial index finds the few there are)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def copy_role_names(apps, schema_editor):
    User = apps.get_model("apikeys", "User")
    for user in User.objects.prefetch_related("roles"):
        user.role_names = sorted(role.name for role in user.roles.all())
        user.save(update_fields=["role_names"])


def copy_roles_back(apps, schema_editor):
    User, Role = apps.get_model("apikeys", "User"), apps.get_model("apikeys", "Role")
    for user in User.objects.all():
        user.roles.set(Role.objects.filter(name__in=user.role_names))


class Migration(migrations.Migration):

    dependencies = [
        ('apikeys', '0006_owner_key_counts'),
    ]

    operations = [
        migrations.CreateModel(
            name='ApplicationPrivilege',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('application', models.CharField(max_length=255)),
                ('name', models.CharField(max_length=255)),
                ('actions', models.JSONField(default=list)),
                ('metadata', models.JSONField(default=dict)),
            ],
            options={
                'ordering': ['application', 'name'],
            },
        ),
        migrations.CreateModel(
            name='Token',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('access_hash', models.CharField(max_length=64, unique=True)),
                ('refresh_hash', models.CharField(blank=True, max_length=64, null=True, unique=True)),
                ('grant_type', models.CharField(max_length=32)),
                ('created', models.DateTimeField(default=django.utils.timezone.now)),
                ('expires', models.DateTimeField()),
                ('refresh_expires', models.DateTimeField(blank=True, null=True)),
                ('refreshed', models.BooleanField(default=False, help_text='Its refresh token has been used (once only).')),
                ('invalidated', models.BooleanField(default=False)),
            ],
        ),
        migrations.AddField(
            model_name='apikey',
            name='access',
            field=models.JSONField(default=dict),
        ),
        migrations.AddField(
            model_name='user',
            name='role_names',
            field=models.JSONField(blank=True, default=list, help_text="The names of the user's roles."),
        ),
        migrations.RunPython(copy_role_names, copy_roles_back),
        migrations.RemoveField(
            model_name='user',
            name='roles',
        ),
        migrations.AlterField(
            model_name='apikey',
            name='type',
            field=models.CharField(choices=[('rest', 'REST'), ('cross_cluster', 'Cross-cluster')], default='rest', max_length=16),
        ),
        migrations.AlterField(
            model_name='auditevent',
            name='action',
            field=models.CharField(choices=[('create', 'Created API key'), ('grant', 'Granted API key'), ('update', 'Updated API key'), ('invalidate', 'Invalidated API key'), ('purge', 'Purged API keys'), ('role_change', 'Changed role'), ('role_delete', 'Deleted role'), ('user_change', 'Changed user'), ('user_delete', 'Deleted user'), ('privilege_change', 'Changed application privilege'), ('privilege_delete', 'Deleted application privilege'), ('token_create', 'Created token'), ('token_refresh', 'Refreshed token'), ('token_invalidate', 'Invalidated tokens'), ('auth_failure', 'Authentication failed'), ('sign_in_failure', 'Sign-in failed')], max_length=32),
        ),
        migrations.AddIndex(
            model_name='apikey',
            index=models.Index(condition=models.Q(('type', 'cross_cluster')), fields=['creation', 'id'], name='apikey_cross_cluster'),
        ),
        migrations.AddConstraint(
            model_name='applicationprivilege',
            constraint=models.UniqueConstraint(fields=('application', 'name'), name='app_privilege_unique'),
        ),
        migrations.AddField(
            model_name='token',
            name='user',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tokens', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddIndex(
            model_name='token',
            index=models.Index(fields=['expires'], name='token_expires'),
        ),
    ]
