-- mire_append: one save in one statement. Checks the expected version before drawing any
-- position (so conflicts burn none), inserts the events, advances the stream row, and returns
-- the new version and the events' positions. Idempotent by event id.
--
-- p_expected: n >= 0 exact version (0 = the stream must not exist), -1 no stream,
--             -2 stream exists, -3 any.
-- Errors: P0M02 concurrency conflict (DETAIL 'expected=E actual=A'),
--         P0M03 an event id already stored with different content.
CREATE FUNCTION mire_append(
    p_stream_id text,
    p_category  text,
    p_expected  bigint,
    p_event_ids uuid[],
    p_types     text[],
    p_payloads  jsonb[],
    p_metadata  jsonb[]
) RETURNS TABLE (new_version bigint, positions bigint[], duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_count    integer := coalesce(array_length(p_event_ids, 1), 0);
    v_current  bigint;
    v_existing integer;
    v_matching integer;
BEGIN
    -- A retried save whose first attempt committed: report the stored outcome, write nothing.
    SELECT count(*),
           count(*) FILTER (WHERE e.stream_id = p_stream_id
                              AND e.event_type = p_types[i.ord]
                              AND e.payload = p_payloads[i.ord])
      INTO v_existing, v_matching
      FROM unnest(p_event_ids) WITH ORDINALITY AS i(event_id, ord)
      JOIN mire_events e ON e.event_id = i.event_id;
    IF v_existing > 0 THEN
        IF v_existing = v_count AND v_matching = v_count THEN
            RETURN QUERY
                SELECT s.version,
                       array_agg(e.global_position ORDER BY e.stream_version),
                       true
                  FROM mire_events e
                  JOIN mire_streams s ON s.stream_id = e.stream_id
                 WHERE e.event_id = ANY (p_event_ids)
                 GROUP BY s.version;
            RETURN;
        END IF;
        RAISE EXCEPTION 'an event id in this save is already stored with different content'
            USING ERRCODE = 'P0M03',
                  HINT = 'give every new event a new id; reuse an id only to retry the identical save';
    END IF;

    SELECT s.version INTO v_current FROM mire_streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
    IF NOT FOUND THEN
        v_current := 0;
    END IF;

    IF NOT (   (p_expected >= 0 AND v_current = p_expected)
            OR (p_expected = -1 AND v_current = 0)
            OR (p_expected = -2 AND v_current > 0)
            OR  p_expected = -3) THEN
        RAISE EXCEPTION 'stream % is at version %, the save expected %', p_stream_id, v_current, p_expected
            USING ERRCODE = 'P0M02', DETAIL = format('expected=%s actual=%s', p_expected, v_current);
    END IF;

    IF v_current = 0 THEN
        INSERT INTO mire_streams (stream_id, category, version)
        VALUES (p_stream_id, p_category, v_count)
        ON CONFLICT (stream_id) DO NOTHING;
        IF NOT FOUND THEN
            -- Another transaction created the stream since we looked: that is a conflict
            -- unless any version was acceptable, in which case take the lock and go on.
            SELECT s.version INTO v_current FROM mire_streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
            IF p_expected <> -3 AND NOT (p_expected = -2 AND v_current > 0) THEN
                RAISE EXCEPTION 'stream % is at version %, the save expected %', p_stream_id, v_current, p_expected
                    USING ERRCODE = 'P0M02', DETAIL = format('expected=%s actual=%s', p_expected, v_current);
            END IF;
            UPDATE mire_streams SET version = v_current + v_count, updated_at = now()
             WHERE stream_id = p_stream_id;
        END IF;
    ELSE
        UPDATE mire_streams SET version = v_current + v_count, updated_at = now()
         WHERE stream_id = p_stream_id;
    END IF;

    RETURN QUERY
        WITH inserted AS (
            INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload, metadata)
            SELECT p_stream_id, v_current + i.ord, p_category, i.event_id, i.event_type, i.payload, i.metadata
              FROM unnest(p_event_ids, p_types, p_payloads, p_metadata)
                   WITH ORDINALITY AS i(event_id, event_type, payload, metadata, ord)
            RETURNING global_position, stream_version
        )
        SELECT v_current + v_count,
               coalesce(array_agg(global_position ORDER BY stream_version), '{}'::bigint[]),
               false
          FROM inserted;
END;
$$;
