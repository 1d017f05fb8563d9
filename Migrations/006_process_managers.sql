-- Process managers (MireSagas): each process's state, and deadlines delivered once.

CREATE TABLE mire_process_states (
    process_manager text        NOT NULL,
    process_id      text        NOT NULL,
    -- The process manager's state, folded from the events it handled (JSON of its Codable form).
    state           jsonb       NOT NULL,
    events_handled  bigint      NOT NULL,
    -- The last event handled, for inspection (the checkpoint, committed with this row, is what
    -- makes each reaction run once).
    last_event_id   uuid        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (process_manager, process_id)
);

CREATE TABLE mire_process_deadlines (
    -- Derived from the event whose reaction scheduled it, so that the same reaction run again
    -- schedules it once; also the id of the event that delivers it.
    deadline_id     uuid        PRIMARY KEY,
    process_manager text        NOT NULL,
    process_id      text        NOT NULL,
    name            text        NOT NULL,
    due_at          timestamptz NOT NULL,
    -- Of the event that scheduled it, passed on to the event that delivers it.
    correlation_id  uuid        NOT NULL,
    causation_id    uuid        NOT NULL,
    -- Set in the transaction that appends the delivering event: a deadline fires once.
    fired_at        timestamptz,
    -- Set by the delivery that hands the event to the process (once), or by a cancelling
    -- reaction before that (the event, if it fired, is then dropped on arrival).
    delivered_at    timestamptz,
    cancelled_at    timestamptz
);

CREATE INDEX mire_process_deadlines_due ON mire_process_deadlines (process_manager, due_at)
    WHERE fired_at IS NULL AND cancelled_at IS NULL;
