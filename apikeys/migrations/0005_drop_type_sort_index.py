"""The console's type sort breaks ties by creation, so `apikey_managed` (managed, creation, id) serves it and
(managed, id) was one more index to rewrite for every changed key."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("apikeys", "0004_search_indexes"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="apikey",
            name="apikey_type_sort",
        ),
    ]
