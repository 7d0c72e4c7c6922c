"""The simulator's models move to the sandbox app: state only, the tables stay (db_table)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('provisioning', '0006_simulator_lifecycle'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='simulatedaction',
                    name='profile',
                ),
                migrations.RemoveField(
                    model_name='simulatedprofileevent',
                    name='callback',
                ),
                migrations.RemoveField(
                    model_name='simulatedplanapplication',
                    name='profile',
                ),
                migrations.RemoveField(
                    model_name='simulatedprofileevent',
                    name='profile',
                ),
                migrations.RemoveField(
                    model_name='simulatedtopup',
                    name='profile',
                ),
                migrations.DeleteModel(
                    name='SimulatedUsage',
                ),
                migrations.DeleteModel(
                    name='SimulatedAction',
                ),
                migrations.DeleteModel(
                    name='SimulatedCallback',
                ),
                migrations.DeleteModel(
                    name='SimulatedPlanApplication',
                ),
                migrations.DeleteModel(
                    name='SimulatedProfileEvent',
                ),
                migrations.DeleteModel(
                    name='SimulatedProfile',
                ),
                migrations.DeleteModel(
                    name='SimulatedTopUp',
                ),
            ],
            database_operations=[],
        ),
    ]
