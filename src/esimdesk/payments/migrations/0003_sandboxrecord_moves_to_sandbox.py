"""SandboxRecord moves to the sandbox app: state only, the table stays (db_table)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('payments', '0002_savedmethod_is_default_renewalattempt'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='SandboxRecord',
                ),
            ],
            database_operations=[],
        ),
    ]
