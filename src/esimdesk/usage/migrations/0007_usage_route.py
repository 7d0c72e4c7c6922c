"""Where a usage record goes, in one index probe: ``usage_route``, on PostgreSQL.

Ingestion resolved every record ICCID -> eSIM -> subscription -> the period running at
``occurred_at``: three index probes per record, about 40 % of a batch's database time. This
table holds one row per billing period of an eSIM's subscription, keyed for that question:
``(iccid, starts_at)`` with the period's end, state, eSIM and id in the index, so a record is
resolved by one index-only probe (``ingest_pg``). It is derived data, kept by triggers in
the same transaction as every change it depends on, so a batch sees it exactly as it sees
the periods themselves:

- a period inserted, deleted or changed (id, subscription, window, state);
- a subscription inserted, deleted, or moved to another eSIM (reissue) or off its eSIM;
- an eSIM inserted, deleted, renumbered or given another ICCID (esimdesk does none of the
  last three, but the table would follow), in whatever order a transaction does them;
- ``TRUNCATE`` of the periods (the test suite's flush) empties it.

Two transactions that change the same rows at once (a reissue while the period sweep
updates one of its periods) each write what their last statement saw, and the later one
overwrites with an upsert; a period inserted while its subscription moves waits for that
move, so neither misses the other.

Group subscriptions (no eSIM) have no rows: their members' records go through the pools.
SQLite has no such table; its ingestion path resolves records one by one anyway.
The covering indexes of ``usage/0005`` on subscriptions and periods served only the old
resolution and are dropped; the ICCID index of ``usage/0006`` still tells an unknown ICCID
from one without a running period.
"""

from django.db import migrations

CREATE = """
CREATE TABLE usage_route (
    period_id bigint PRIMARY KEY,
    iccid text COLLATE "C" NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    state text NOT NULL,
    esim_id bigint NOT NULL
);

-- The rows of one subscription's periods (or of one of them), as this statement sees them.
-- An upsert: a concurrent transaction that rewrote the same rows and committed while this
-- one waited (a reissue and a period update crossing) is overwritten with what is now true,
-- where a plain insert would fail on the key.
CREATE FUNCTION usage_route_fill(subscription bigint, only_period bigint) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO usage_route (period_id, iccid, starts_at, ends_at, state, esim_id)
    SELECT p.id, e.iccid, p.starts_at, p.ends_at, p.state, e.id
      FROM subscriptions_subscription s
      JOIN esims_esim e ON e.id = s.esim_id
      JOIN subscriptions_period p ON p.subscription_id = s.id
     WHERE s.id = subscription AND (only_period IS NULL OR p.id = only_period)
    ON CONFLICT (period_id) DO UPDATE
       SET iccid = EXCLUDED.iccid, starts_at = EXCLUDED.starts_at,
           ends_at = EXCLUDED.ends_at, state = EXCLUDED.state, esim_id = EXCLUDED.esim_id
$$;

-- The triggers fire on every update and compare in the function, rather than naming
-- columns in the trigger (UPDATE OF, WHEN): PostgreSQL refuses to change the type of a
-- column a trigger's definition names, which would block ordinary migrations.
CREATE FUNCTION usage_route_period() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.id = NEW.id AND OLD.subscription_id = NEW.subscription_id
       AND OLD.starts_at = NEW.starts_at AND OLD.ends_at = NEW.ends_at
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

CREATE FUNCTION usage_route_subscription() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.id = NEW.id
       AND OLD.esim_id IS NOT DISTINCT FROM NEW.esim_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM usage_route
         WHERE period_id IN (SELECT id FROM subscriptions_period
                              WHERE subscription_id = OLD.id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM usage_route_fill(NEW.id, NULL);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION usage_route_esim() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    subscription bigint;
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.id = NEW.id AND OLD.iccid = NEW.iccid THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM usage_route WHERE esim_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        FOR subscription IN
            SELECT id FROM subscriptions_subscription WHERE esim_id = NEW.id
        LOOP
            PERFORM usage_route_fill(subscription, NULL);
        END LOOP;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION usage_route_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE usage_route;
    RETURN NULL;
END $$;

CREATE TRIGGER usage_route_period AFTER INSERT OR UPDATE OR DELETE ON subscriptions_period
    FOR EACH ROW EXECUTE FUNCTION usage_route_period();
CREATE TRIGGER usage_route_subscription
    AFTER INSERT OR UPDATE OR DELETE ON subscriptions_subscription
    FOR EACH ROW EXECUTE FUNCTION usage_route_subscription();
CREATE TRIGGER usage_route_esim AFTER INSERT OR UPDATE OR DELETE ON esims_esim
    FOR EACH ROW EXECUTE FUNCTION usage_route_esim();
CREATE TRIGGER usage_route_period_truncate AFTER TRUNCATE ON subscriptions_period
    FOR EACH STATEMENT EXECUTE FUNCTION usage_route_truncate();

INSERT INTO usage_route (period_id, iccid, starts_at, ends_at, state, esim_id)
SELECT p.id, e.iccid, p.starts_at, p.ends_at, p.state, e.id
  FROM subscriptions_period p
  JOIN subscriptions_subscription s ON s.id = p.subscription_id
  JOIN esims_esim e ON e.id = s.esim_id;

-- The one probe of a record: its ICCID's period starting last at or before occurred_at.
CREATE INDEX usage_route_lookup ON usage_route (iccid, starts_at)
    INCLUDE (ends_at, state, esim_id, period_id);
CREATE INDEX usage_route_esim ON usage_route (esim_id);
ANALYZE usage_route;

DROP INDEX IF EXISTS subscriptions_esim_covering;
DROP INDEX IF EXISTS subscriptions_period_window_covering;
"""

DROP = """
DROP TRIGGER IF EXISTS usage_route_period ON subscriptions_period;
DROP TRIGGER IF EXISTS usage_route_period_truncate ON subscriptions_period;
DROP TRIGGER IF EXISTS usage_route_subscription ON subscriptions_subscription;
DROP TRIGGER IF EXISTS usage_route_esim ON esims_esim;
DROP FUNCTION IF EXISTS usage_route_period();
DROP FUNCTION IF EXISTS usage_route_subscription();
DROP FUNCTION IF EXISTS usage_route_esim();
DROP FUNCTION IF EXISTS usage_route_truncate();
DROP FUNCTION IF EXISTS usage_route_fill(bigint, bigint);
DROP TABLE IF EXISTS usage_route;
CREATE INDEX IF NOT EXISTS subscriptions_esim_covering
    ON subscriptions_subscription (esim_id) INCLUDE (id);
CREATE INDEX IF NOT EXISTS subscriptions_period_window_covering
    ON subscriptions_period (subscription_id, starts_at) INCLUDE (id, ends_at, state);
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):

    dependencies = [("usage", "0006_iccid_bytewise")]

    operations = [migrations.RunPython(create, drop)]
