-- Projections: a checkpoint per projection, a lease per projection, and skipped (poison) events.

CREATE TABLE mire_subscriptions (
    name             text        PRIMARY KEY,
    -- The cursor: every event at or before (cursor_xid, cursor_position), in that order, was handled…
    cursor_xid       xid8        NOT NULL DEFAULT '0',
    cursor_position  bigint      NOT NULL DEFAULT 0,
    -- …plus these positions after it, handled early to keep a stream's versions in order.
    delivered_ahead  bigint[]    NOT NULL DEFAULT '{}',
    -- The fence token of the lease that wrote this checkpoint.
    fence_token      bigint      NOT NULL DEFAULT 0,
    events_handled   bigint      NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mire_projection_leases (
    name         text        PRIMARY KEY,
    worker_id    text,
    -- Judged by the database clock only.
    leased_until timestamptz NOT NULL,
    -- Rises on every acquisition; checkpoints must carry the current one.
    fence_token  bigint      NOT NULL,
    acquired_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE mire_projection_skipped (
    name            text        NOT NULL,
    global_position bigint      NOT NULL,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL,
    event_type      text        NOT NULL,
    error           text        NOT NULL,
    attempts        integer     NOT NULL,
    skipped_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, global_position)
);
