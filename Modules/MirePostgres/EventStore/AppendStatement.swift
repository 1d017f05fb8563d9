import Foundation
import MireCore
import MirePQ

/// The SQL of a save. The hot path is one plain statement that creates or advances the stream
/// row under its expected version and inserts the events — as fast as the same work written by
/// hand. When it changes nothing (the stream was not where the save expected, or the save is a
/// retry whose first attempt committed), the complete statement settles the case: it calls
/// `mire_append` (Migrations/005_append_fallback.sql), which locks the stream, reports events
/// already stored where they were stored, or raises a typed conflict.
///
/// The texts are constants (prepared once per connection, looked up without building a string);
/// only the bound values change from save to save. Both kinds return rows of (global_position,
/// stream_version, transaction_id[, already_stored]). Neither draws a position unless the version
/// check passed. Tools may run the same statements (`pgbench` does, in the store benchmark):
///
/// ```swift
/// print(AppendStatement.newStreamSQL)   // $1 stream, $2 category, $3 event id, $4 type, $5 payload, $6 metadata
/// ```
@_spi(Internals) public enum AppendStatement {
    /// One event for a new stream: $1 stream id, $2 category, $3 event id, $4 type, $5 payload
    /// (jsonb), $6 metadata (jsonb). No row when the stream exists.
    public static let newStreamSQL = """
        WITH s AS (
            INSERT INTO mire_streams (stream_id, category, version) VALUES ($1, $2, 1)
            ON CONFLICT DO NOTHING RETURNING stream_id
        )
        INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload, metadata)
        SELECT s.stream_id, 1, $2, $3, $4, $5, $6 FROM s
        RETURNING global_position, stream_version, transaction_id
        """

    /// One event for a stream at version $7: parameters as ``newStreamSQL``, then $7 the expected
    /// version. No row when the stream is not at that version.
    public static let existingStreamSQL = """
        WITH s AS (
            UPDATE mire_streams SET version = version + 1, updated_at = now()
            WHERE stream_id = $1 AND version = $7 RETURNING version
        )
        INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload, metadata)
        SELECT $1, s.version, $2, $3, $4, $5, $6 FROM s
        RETURNING global_position, stream_version, transaction_id
        """

    /// Several events for a new stream: $1 stream id, $2 category, $3 event ids (uuid[]), $4 types
    /// (text[]), $5 payloads (jsonb[]), $6 metadata (jsonb[]).
    public static let newStreamBatchSQL = """
        WITH s AS (
            INSERT INTO mire_streams (stream_id, category, version) VALUES ($1, $2, cardinality($3::uuid[]))
            ON CONFLICT DO NOTHING RETURNING stream_id
        )
        INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload, metadata)
        SELECT s.stream_id, i.ord, $2, i.event_id, i.event_type, i.payload, i.metadata
        FROM s, unnest($3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[])
             WITH ORDINALITY AS i(event_id, event_type, payload, metadata, ord)
        RETURNING global_position, stream_version, transaction_id
        """

    /// Several events for a stream at version $7: parameters as ``newStreamBatchSQL``, then $7.
    public static let existingStreamBatchSQL = """
        WITH s AS (
            UPDATE mire_streams SET version = version + cardinality($3::uuid[]), updated_at = now()
            WHERE stream_id = $1 AND version = $7 RETURNING version - cardinality($3::uuid[]) AS base
        )
        INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload, metadata)
        SELECT $1, s.base + i.ord, $2, i.event_id, i.event_type, i.payload, i.metadata
        FROM s, unnest($3::uuid[], $4::text[], $5::jsonb[], $6::jsonb[])
             WITH ORDINALITY AS i(event_id, event_type, payload, metadata, ord)
        RETURNING global_position, stream_version, transaction_id
        """

    /// The complete statement: $1 stream, $2 category, $3 expected version (n ≥ 0 exact, -1 no
    /// stream, -2 stream exists, -3 any), then the event columns as arrays ($4…$7).
    public static let completeSQL = """
        SELECT global_position, stream_version, transaction_id, already_stored
        FROM mire_append($1, $2, $3, $4, $5, $6, $7)
        """

    /// The one-statement hot path, for an expectation that names the version (`.exact`,
    /// `.noStream`); nil for `.any` and `.streamExists`, which go to the complete statement.
    static func hot(stream: StreamID, expected: ExpectedVersion, events: [NewEvent]) -> PGQuery? {
        let version: Int64
        switch expected {
        case .exact(let exact): version = exact
        case .noStream: version = 0
        case .streamExists, .any: return nil
        }
        var bindings = PGBindings()
        bindings.append(stream.rawValue)
        bindings.append(stream.category)
        let sql: String
        if events.count == 1, let event = events.first {
            bindings.append(event.metadata.eventID)
            bindings.append(event.type)
            bindings.append(PGJSONB(utf8: event.payload))
            bindings.append(PGJSONB(utf8: event.metadata.storedJSON()))
            sql = version == 0 ? newStreamSQL : existingStreamSQL
        } else {
            appendColumns(events, to: &bindings)
            sql = version == 0 ? newStreamBatchSQL : existingStreamBatchSQL
        }
        if version != 0 { bindings.append(version) }
        return PGQuery(unsafeSQL: sql, bindings: bindings)
    }

    /// The complete statement: `mire_append`, for every case the hot path does not settle.
    static func complete(stream: StreamID, expected: ExpectedVersion, events: [NewEvent]) -> PGQuery {
        var bindings = PGBindings()
        bindings.append(stream.rawValue)
        bindings.append(stream.category)
        bindings.append(expected.encoded)
        appendColumns(events, to: &bindings)
        return PGQuery(unsafeSQL: completeSQL, bindings: bindings)
    }

    /// Binds the events' columns as four arrays: ids, types, payloads, metadata.
    private static func appendColumns(_ events: [NewEvent], to bindings: inout PGBindings) {
        bindings.append(events.map(\.metadata.eventID))
        bindings.append(events.map(\.type))
        bindings.append(events.map { PGJSONB(utf8: $0.payload) })
        bindings.append(events.map { PGJSONB(utf8: $0.metadata.storedJSON()) })
    }

    /// The outcome of a save of `events` from its rows: where each event is, in order.
    static func result(_ rows: PGRows, stream: StreamID, events: [NewEvent]) throws -> (
        AppendResult, transactionID: UInt64?
    ) {
        var stored: [(version: Int64, position: Int64)] = []
        stored.reserveCapacity(rows.count)
        var alreadyStored = false
        var transactionID: UInt64?
        // Read by column: a value's type and format are checked once per column, not per call.
        let (positions, versions, xids) = (PGBinaryColumn(rows, 0), PGBinaryColumn(rows, 1), PGBinaryColumn(rows, 2))
        let storedFlags = rows.first.map { $0.columnCount > 3 } == true ? PGBinaryColumn(rows, 3) : nil
        for row in rows.indices {
            let position = try positions.int64(row: row)
            let version = try versions.int64(row: row)
            let xid = try xids.transactionID(row: row)
            if let storedFlags { alreadyStored = try storedFlags.bool(row: row) }
            stored.append((version, position))
            if !alreadyStored { transactionID = xid.rawValue }
        }
        stored.sort { $0.version < $1.version }
        guard let last = stored.last else {
            throw MireError(code: .database, message: "the save returned no rows", stream: stream.rawValue)
        }
        return (
            AppendResult(
                stream: stream, version: last.version, positions: stored.map(\.position),
                wasAlreadyStored: alreadyStored, lastEventID: events.last?.metadata.eventID),
            transactionID
        )
    }
}
