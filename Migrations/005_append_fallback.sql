-- Saves run as one plain SQL statement (see EventStore+AppendStatements.swift): the stream row
-- is created or advanced under its expected version, and the events inserted, in one
-- statement. When that statement changes nothing (the stream was not where the save expected,
-- or the save is a retry whose first attempt committed), the store calls mire_append, which
-- settles the case properly. It is also the one statement for `.any`/`.streamExists` saves and
-- for every stream of a multi-stream batch.
--
-- mire_append takes the stream's row lock first, so it waits for any writer in flight (a retry
-- waits for its own first attempt), then checks the event ids (a retried save reports where its
-- events were stored, with their original positions), then the expected version — before any
-- position is drawn, so a conflict burns none.
--
-- p_expected: n >= 0 exact version (0 = the stream must not exist), -1 no stream,
--             -2 stream exists, -3 any.
-- Returns one row per event, in order: position, version, writing transaction, and whether it
-- was already stored (true for every row, or for none).
-- Errors: P0M02 concurrency conflict (DETAIL 'expected=E actual=A'),
--         P0M03 an event id already stored with different content, or elsewhere.
DROP FUNCTION mire_append(text, text, bigint, uuid[], text[], jsonb[], jsonb[]);

CREATE FUNCTION mire_append(
    p_stream_id text,
    p_category  text,
    p_expected  bigint,
    p_event_ids uuid[],
    p_types     text[],
    p_payloads  jsonb[],
    p_metadata  jsonb[]
) RETURNS TABLE (global_position bigint, stream_version bigint, transaction_id xid8, already_stored boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_count    integer := coalesce(array_length(p_event_ids, 1), 0);
    v_current  bigint;
    v_exists   boolean;
    v_stored   integer;
    v_matching integer;
BEGIN
    IF v_count = 0 THEN
        RAISE EXCEPTION 'an append needs at least one event' USING ERRCODE = '22023';
    END IF;
    -- Twice at most: a stream created by another writer between our look and our insert is
    -- looked at again, under its lock.
    FOR attempt IN 1..2 LOOP
        SELECT s.version INTO v_current FROM mire_streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
        v_exists := FOUND;
        IF NOT v_exists THEN
            v_current := 0;
        END IF;

        -- After the lock: were these events stored already (a retried save)? They must be the
        -- same events, in this stream, one after another.
        SELECT count(*),
               count(*) FILTER (WHERE e.stream_id = p_stream_id
                                  AND e.event_type = p_types[i.ord]
                                  AND e.payload = p_payloads[i.ord]
                                  AND e.stream_version = first.version + i.ord - 1)
          INTO v_stored, v_matching
          FROM unnest(p_event_ids) WITH ORDINALITY AS i(event_id, ord)
          JOIN mire_events e ON e.event_id = i.event_id
          LEFT JOIN LATERAL (
              SELECT f.stream_version AS version FROM mire_events f WHERE f.event_id = p_event_ids[1]
          ) first ON true;
        IF v_stored > 0 THEN
            IF v_stored = v_count AND v_matching = v_count THEN
                RETURN QUERY
                    SELECT e.global_position, e.stream_version, e.transaction_id, true
                      FROM unnest(p_event_ids) WITH ORDINALITY AS i(event_id, ord)
                      JOIN mire_events e ON e.event_id = i.event_id
                     ORDER BY i.ord;
                RETURN;
            END IF;
            RAISE EXCEPTION 'an event id of this save is already stored with different content or elsewhere'
                USING ERRCODE = 'P0M03',
                      HINT = 'give every new event a new id; reuse an id only to retry the identical save';
        END IF;

        IF NOT (   (p_expected >= 0 AND v_current = p_expected)
                OR (p_expected = -1 AND v_current = 0)
                OR (p_expected = -2 AND v_current > 0)
                OR  p_expected = -3) THEN
            RAISE EXCEPTION 'stream % is at version %, the save expected %', p_stream_id, v_current, p_expected
                USING ERRCODE = 'P0M02', DETAIL = format('expected=%s actual=%s', p_expected, v_current);
        END IF;

        IF v_exists THEN
            UPDATE mire_streams SET version = v_current + v_count, updated_at = now()
             WHERE stream_id = p_stream_id;
        ELSE
            INSERT INTO mire_streams (stream_id, category, version)
            VALUES (p_stream_id, p_category, v_count)
            ON CONFLICT (stream_id) DO NOTHING;
            CONTINUE WHEN NOT FOUND;
        END IF;

        RETURN QUERY
            INSERT INTO mire_events AS e (stream_id, stream_version, category, event_id, event_type, payload, metadata)
            SELECT p_stream_id, v_current + i.ord, p_category, i.event_id, i.event_type, i.payload, i.metadata
              FROM unnest(p_event_ids, p_types, p_payloads, p_metadata)
                   WITH ORDINALITY AS i(event_id, event_type, payload, metadata, ord)
            RETURNING e.global_position, e.stream_version, e.transaction_id, false;
        RETURN;
    END LOOP;
    RAISE EXCEPTION 'stream % was created and removed while this save looked at it', p_stream_id
        USING ERRCODE = '40001';
END;
$$;
