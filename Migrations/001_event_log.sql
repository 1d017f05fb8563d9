-- The event log: one row per stream, one row per event. Append-only.

CREATE TABLE mire_streams (
    stream_id   text        PRIMARY KEY,
    category    text        NOT NULL,
    version     bigint      NOT NULL CHECK (version >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX mire_streams_category ON mire_streams (category);

CREATE TABLE mire_events (
    global_position bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The writing transaction: readers deliver only finished transactions, in (xid, position) order.
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       text        NOT NULL REFERENCES mire_streams (stream_id),
    stream_version  bigint      NOT NULL CHECK (stream_version >= 1),
    category        text        NOT NULL,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    payload         jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT mire_events_event_id_unique UNIQUE (event_id),
    CONSTRAINT mire_events_stream_version_unique UNIQUE (stream_id, stream_version)
);

CREATE INDEX mire_events_transaction_order ON mire_events (transaction_id, global_position);
CREATE INDEX mire_events_category_transaction_order ON mire_events (category, transaction_id, global_position);

-- History is never rewritten: refuse UPDATE, DELETE and TRUNCATE on the log.
CREATE FUNCTION mire_refuse_event_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'mire_events is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'P0M01',
              HINT = 'record a compensating event instead of changing history';
END;
$$;

CREATE TRIGGER mire_events_append_only
    BEFORE UPDATE OR DELETE ON mire_events
    FOR EACH ROW EXECUTE FUNCTION mire_refuse_event_changes();

CREATE TRIGGER mire_events_no_truncate
    BEFORE TRUNCATE ON mire_events
    FOR EACH STATEMENT EXECUTE FUNCTION mire_refuse_event_changes();
