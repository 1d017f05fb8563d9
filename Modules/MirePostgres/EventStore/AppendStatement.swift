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
/// Both return rows of (global_position, stream_version, transaction_id[, already_stored]).
/// Neither draws a position unless the version check passed.
enum AppendStatement {
    /// The one-statement hot path, for an expectation that names the version (`.exact`,
    /// `.noStream`); nil for `.any` and `.streamExists`, which go to the complete statement.
    static func hot(stream: StreamID, expected: ExpectedVersion, events: [NewEvent]) -> PostgresQuery? {
        let version: Int64
        switch expected {
        case .exact(let exact): version = exact
        case .noStream: version = 0
        case .streamExists, .any: return nil
        }
        guard events.count == 1, let event = events.first else {
            return version == 0
                ? newStream(stream, events) : existingStream(stream, version, events)
        }
        let payload = PostgresJSONB(utf8: event.payload)
        let metadata = PostgresJSONB(utf8: event.metadata.storedJSON())
        if version == 0 {
            return """
                WITH s AS (
                    INSERT INTO mire_streams (stream_id, category, version) VALUES (\(stream.rawValue), \(stream.category), 1)
                    ON CONFLICT DO NOTHING RETURNING stream_id
                )
                INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload, metadata)
                SELECT s.stream_id, 1, \(stream.category), \(event.metadata.eventID), \(event.type), \(payload), \(metadata) FROM s
                RETURNING global_position, stream_version, transaction_id
                """
        }
        return """
            WITH s AS (
                UPDATE mire_streams SET version = version + 1, updated_at = now()
                WHERE stream_id = \(stream.rawValue) AND version = \(version) RETURNING version
            )
            INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload, metadata)
            SELECT \(stream.rawValue), s.version, \(stream.category), \(event.metadata.eventID), \(event.type), \(payload), \(metadata) FROM s
            RETURNING global_position, stream_version, transaction_id
            """
    }

    /// Several events for a new stream, in one statement.
    private static func newStream(_ stream: StreamID, _ events: [NewEvent]) -> PostgresQuery {
        let (ids, types, payloads, metadata) = columns(events)
        return """
            WITH s AS (
                INSERT INTO mire_streams (stream_id, category, version)
                VALUES (\(stream.rawValue), \(stream.category), \(Int64(events.count)))
                ON CONFLICT DO NOTHING RETURNING stream_id
            )
            INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload, metadata)
            SELECT s.stream_id, i.ord, \(stream.category), i.event_id, i.event_type, i.payload, i.metadata
            FROM s, unnest(\(ids)::uuid[], \(types)::text[], \(payloads)::jsonb[], \(metadata)::jsonb[])
                 WITH ORDINALITY AS i(event_id, event_type, payload, metadata, ord)
            RETURNING global_position, stream_version, transaction_id
            """
    }

    /// Several events for a stream at `version`, in one statement.
    private static func existingStream(_ stream: StreamID, _ version: Int64, _ events: [NewEvent]) -> PostgresQuery {
        let (ids, types, payloads, metadata) = columns(events)
        let count = Int64(events.count)
        return """
            WITH s AS (
                UPDATE mire_streams SET version = version + \(count), updated_at = now()
                WHERE stream_id = \(stream.rawValue) AND version = \(version) RETURNING version - \(count) AS base
            )
            INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload, metadata)
            SELECT \(stream.rawValue), s.base + i.ord, \(stream.category), i.event_id, i.event_type, i.payload, i.metadata
            FROM s, unnest(\(ids)::uuid[], \(types)::text[], \(payloads)::jsonb[], \(metadata)::jsonb[])
                 WITH ORDINALITY AS i(event_id, event_type, payload, metadata, ord)
            RETURNING global_position, stream_version, transaction_id
            """
    }

    /// The complete statement: `mire_append`, for every case the hot path does not settle.
    static func complete(stream: StreamID, expected: ExpectedVersion, events: [NewEvent]) -> PostgresQuery {
        let (ids, types, payloads, metadata) = columns(events)
        return """
            SELECT global_position, stream_version, transaction_id, already_stored
            FROM mire_append(\(stream.rawValue), \(stream.category), \(expected.encoded), \(ids), \(types), \(payloads), \(metadata))
            """
    }

    private static func columns(_ events: [NewEvent]) -> ([UUID], [String], [PostgresJSONB], [PostgresJSONB]) {
        (
            events.map(\.metadata.eventID), events.map(\.type), events.map { PostgresJSONB(utf8: $0.payload) },
            events.map { PostgresJSONB(utf8: $0.metadata.storedJSON()) }
        )
    }

    /// The outcome of a save from its rows: where each event is, in order.
    static func result(_ rows: PostgresRows, stream: StreamID) throws -> (AppendResult, transactionID: UInt64?) {
        var stored: [(version: Int64, position: Int64)] = []
        stored.reserveCapacity(rows.count)
        var alreadyStored = false
        var transactionID: UInt64?
        for row in rows {
            let (position, version, xid) = try row.decode((Int64, Int64, PostgresTransactionID).self)
            if row.columnCount > 3 { alreadyStored = try row.decode(Bool.self, at: 3) }
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
                wasAlreadyStored: alreadyStored),
            transactionID
        )
    }
}
