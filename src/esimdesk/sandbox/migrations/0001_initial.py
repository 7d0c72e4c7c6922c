"""The simulator's and the sandbox provider's models, moved from provisioning and payments:
state only, their tables (made by those apps' migrations) stay as they are."""

import django.db.models.deletion
import esimdesk.core.clock
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('payments', '0003_sandboxrecord_moves_to_sandbox'),
        ('provisioning', '0007_simulator_moves_to_sandbox'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='SandboxRecord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reference', models.CharField(max_length=64, unique=True)),
                        ('kind', models.CharField(choices=[('charge', 'charge'), ('refund', 'refund')], max_length=10)),
                        ('payment_id', models.CharField(help_text="esimdesk's payment id", max_length=32)),
                        ('parent', models.CharField(blank=True, help_text='the charge a refund is of', max_length=64)),
                        ('amount', models.BigIntegerField()),
                        ('currency', models.CharField(max_length=3)),
                        ('status', models.CharField(default='open', max_length=10)),
                        ('method', models.CharField(blank=True, max_length=100)),
                        ('decline_code', models.CharField(blank=True, max_length=40)),
                        ('saved_token', models.CharField(blank=True, max_length=64)),
                        ('wants_saved', models.BooleanField(default=False)),
                        ('created_at', models.DateTimeField(default=esimdesk.core.clock.now)),
                    ],
                    options={
                        'db_table': 'payments_sandboxrecord',
                    },
                ),
                migrations.CreateModel(
                    name='SimulatedProfile',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reference', models.CharField(max_length=100, unique=True)),
                        ('iccid', models.CharField(max_length=20, null=True, unique=True)),
                        ('matching_id', models.CharField(max_length=64)),
                        ('plan_code', models.CharField(max_length=60)),
                        ('status', models.CharField(default='released', max_length=20)),
                        ('state', models.CharField(choices=[('released', 'Released'), ('downloaded', 'Downloaded'), ('installed', 'Installed'), ('enabled', 'Enabled'), ('disabled', 'Disabled'), ('deleted', 'Deleted'), ('cancelled', 'Cancelled')], default='released', max_length=12)),
                        ('suspended', models.BooleanField(default=False)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('state_changed_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(default=esimdesk.core.clock.now)),
                    ],
                    options={
                        'db_table': 'provisioning_simulatedprofile',
                    },
                ),
                migrations.CreateModel(
                    name='SimulatedCallback',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('status', 'Status'), ('usage', 'Usage')], max_length=8)),
                        ('body', models.TextField(help_text='the JSON body, exactly as signed')),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('last_http_status', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('last_answer', models.JSONField(blank=True, null=True)),
                        ('delivered_at', models.DateTimeField(blank=True, null=True)),
                        ('gave_up_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(default=esimdesk.core.clock.now)),
                    ],
                    options={
                        'db_table': 'provisioning_simulatedcallback',
                        'indexes': [models.Index(fields=['-created_at'], name='provisionin_created_515442_idx')],
                    },
                ),
                migrations.CreateModel(
                    name='SimulatedPlanApplication',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reference', models.CharField(max_length=100, unique=True)),
                        ('plan_code', models.CharField(max_length=60)),
                        ('starts', models.CharField(default='queued', help_text='queued (after the running plan) or now (plan change)', max_length=8)),
                        ('created_at', models.DateTimeField(default=esimdesk.core.clock.now)),
                        ('profile', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='applications', to='sandbox.simulatedprofile')),
                    ],
                    options={
                        'db_table': 'provisioning_simulatedplanapplication',
                    },
                ),
                migrations.CreateModel(
                    name='SimulatedAction',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reference', models.CharField(max_length=100, unique=True)),
                        ('action', models.CharField(help_text='suspend, resume or revoke', max_length=8)),
                        ('created_at', models.DateTimeField(default=esimdesk.core.clock.now)),
                        ('profile', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='actions', to='sandbox.simulatedprofile')),
                    ],
                    options={
                        'db_table': 'provisioning_simulatedaction',
                    },
                ),
                migrations.CreateModel(
                    name='SimulatedTopUp',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reference', models.CharField(max_length=100, unique=True)),
                        ('product_code', models.CharField(max_length=60)),
                        ('data_bytes', models.BigIntegerField(default=0)),
                        ('voice_seconds', models.BigIntegerField(default=0)),
                        ('sms_count', models.BigIntegerField(default=0)),
                        ('extend_days', models.PositiveSmallIntegerField(default=0)),
                        ('created_at', models.DateTimeField(default=esimdesk.core.clock.now)),
                        ('profile', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='top_ups', to='sandbox.simulatedprofile')),
                    ],
                    options={
                        'db_table': 'provisioning_simulatedtopup',
                    },
                ),
                migrations.CreateModel(
                    name='SimulatedUsage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('record_id', models.CharField(max_length=128, unique=True)),
                        ('iccid', models.CharField(max_length=20)),
                        ('kind', models.CharField(default='data', max_length=5)),
                        ('quantity', models.BigIntegerField(help_text='bytes, seconds or messages')),
                        ('occurred_at', models.DateTimeField()),
                        ('created_at', models.DateTimeField(default=esimdesk.core.clock.now)),
                    ],
                    options={
                        'db_table': 'provisioning_simulatedusage',
                        'indexes': [models.Index(fields=['iccid', 'occurred_at'], name='provisionin_iccid_adc50a_idx')],
                    },
                ),
                migrations.CreateModel(
                    name='SimulatedProfileEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('event_id', models.CharField(max_length=64, unique=True)),
                        ('status', models.CharField(max_length=12)),
                        ('previous', models.CharField(blank=True, max_length=12)),
                        ('origin', models.CharField(help_text='staff, auto or simulator', max_length=10)),
                        ('occurred_at', models.DateTimeField(default=esimdesk.core.clock.now)),
                        ('callback', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='events', to='sandbox.simulatedcallback')),
                        ('profile', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='events', to='sandbox.simulatedprofile')),
                    ],
                    options={
                        'db_table': 'provisioning_simulatedprofileevent',
                        'indexes': [models.Index(fields=['-occurred_at'], name='provisionin_occurre_d8ca6d_idx')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
