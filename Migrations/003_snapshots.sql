-- Snapshots: an optimisation, never the truth. One row per stream, the latest state only.
CREATE TABLE mire_snapshots (
    stream_id         text        PRIMARY KEY REFERENCES mire_streams (stream_id),
    stream_version    bigint      NOT NULL CHECK (stream_version >= 1),
    -- The aggregate's declared snapshot schema version: a bump retires older snapshots.
    schema_version    integer     NOT NULL,
    -- 'json' or 'json+zlib'.
    encoding          text        NOT NULL,
    uncompressed_size integer     NOT NULL CHECK (uncompressed_size >= 0),
    state             bytea       NOT NULL,
    taken_at          timestamptz NOT NULL DEFAULT now()
);
