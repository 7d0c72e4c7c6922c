"""Usage events keep their eSIM and period without a per-row foreign-key check.

The two foreign-key constraints of ``usage_usageevent`` are dropped (each stored record paid
two index lookups and two row locks for them) and, on PostgreSQL, replaced by deferred
triggers on the *referenced* tables, which cost nothing per stored record: deleting (or
renumbering) an eSIM or a period that usage events still reference fails at commit with a
foreign-key violation, as the constraint would have. esimdesk itself never deletes either.
"""

from django.db import migrations, models
import django.db.models.deletion

GUARD = """
CREATE OR REPLACE FUNCTION usage_refuse_referenced_delete() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- Deferred to commit, so a transaction may delete the events first; run under a fresh
    -- snapshot, so events committed meanwhile by concurrent ingestion are seen.
    IF TG_TABLE_NAME = 'esims_esim' THEN
        IF EXISTS (SELECT 1 FROM usage_usageevent WHERE esim_id = OLD.id) THEN
            RAISE EXCEPTION 'usage events still reference eSIM %', OLD.id
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    ELSIF EXISTS (SELECT 1 FROM usage_usageevent WHERE period_id = OLD.id) THEN
        RAISE EXCEPTION 'usage events still reference period %', OLD.id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER usage_events_reference_esim
    AFTER DELETE OR UPDATE OF id ON esims_esim DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION usage_refuse_referenced_delete();
CREATE CONSTRAINT TRIGGER usage_events_reference_period
    AFTER DELETE OR UPDATE OF id ON subscriptions_period DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION usage_refuse_referenced_delete();
"""

UNGUARD = """
DROP TRIGGER IF EXISTS usage_events_reference_esim ON esims_esim;
DROP TRIGGER IF EXISTS usage_events_reference_period ON subscriptions_period;
DROP FUNCTION IF EXISTS usage_refuse_referenced_delete();
"""


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD, params=None)


def unguard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNGUARD, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('esims', '0002_reissue'),
        ('subscriptions', '0002_reminderlog_period_subscriptio_ends_at_3f93b4_idx_and_more'),
        ('usage', '0002_covered_fk_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='usageevent',
            name='esim',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='usage_events', to='esims.esim'),
        ),
        migrations.AlterField(
            model_name='usageevent',
            name='period',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='usage_events', to='subscriptions.period'),
        ),
        migrations.RunPython(guard, unguard),
    ]
