-- The outbox (MireSagas): messages for systems outside PostgreSQL, written in the transaction
-- whose events cause them, delivered at least once by workers.

CREATE TABLE mire_outbox (
    id              bigserial   PRIMARY KEY,
    topic           text        NOT NULL,
    -- Stable per message: enqueuing a key again keeps the first message; receivers deduplicate
    -- deliveries by it (a message may be delivered more than once).
    dedup_key       text        NOT NULL UNIQUE,
    payload         jsonb       NOT NULL,
    -- pending → delivered, or → dead after too many failed attempts (a dead letter, kept).
    status          text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- The claim of the worker delivering it: until when, and its id (a late worker whose claim
    -- expired cannot overwrite a newer claim's outcome).
    claimed_until   timestamptz,
    claim_id        uuid,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);

CREATE INDEX mire_outbox_due ON mire_outbox (next_attempt_at) WHERE status = 'pending';
