"""``usage_route`` holds only periods with a window: a period waiting for first use (and one
queued behind it) has no ``starts_at``/``ends_at`` until it starts, so it gets its row when
it does (the period trigger sees the update). Before this, such a period could not be
inserted at all on PostgreSQL (the route's columns are NOT NULL)."""

from django.db import migrations

FILL = """
CREATE OR REPLACE FUNCTION usage_route_fill(subscription bigint, only_period bigint)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO usage_route (period_id, iccid, starts_at, ends_at, state, esim_id)
    SELECT p.id, e.iccid, p.starts_at, p.ends_at, p.state, e.id
      FROM subscriptions_subscription s
      JOIN esims_esim e ON e.id = s.esim_id
      JOIN subscriptions_period p ON p.subscription_id = s.id
     WHERE s.id = subscription AND (only_period IS NULL OR p.id = only_period)
       AND p.starts_at IS NOT NULL
    ON CONFLICT (period_id) DO UPDATE
       SET iccid = EXCLUDED.iccid, starts_at = EXCLUDED.starts_at,
           ends_at = EXCLUDED.ends_at, state = EXCLUDED.state, esim_id = EXCLUDED.esim_id
$$;

CREATE OR REPLACE FUNCTION usage_route_period() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.id = NEW.id AND OLD.subscription_id = NEW.subscription_id
       AND OLD.starts_at IS NOT DISTINCT FROM NEW.starts_at
       AND OLD.ends_at IS NOT DISTINCT FROM NEW.ends_at
       AND OLD.state = NEW.state THEN
        RETURN NULL;  -- Django saves every column: only a real change rewrites the row
    END IF;
    IF TG_OP = 'INSERT' THEN
        -- A subscription moving to another eSIM meanwhile could not see this period: wait
        -- for it (esimdesk's own inserts hold the subscription's row lock already).
        PERFORM 1 FROM subscriptions_subscription WHERE id = NEW.subscription_id
            FOR KEY SHARE;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM usage_route WHERE period_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM usage_route_fill(NEW.subscription_id, NEW.id);
    END IF;
    RETURN NULL;
END $$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FILL, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # The old definitions, less the window filter (as usage/0007 made them).
        schema_editor.execute(FILL.replace("\n       AND p.starts_at IS NOT NULL", ""),
                              params=None)


class Migration(migrations.Migration):

    dependencies = [("usage", "0007_usage_route"), ("subscriptions", "0004_pending_periods")]

    operations = [migrations.RunPython(forward, backward)]
