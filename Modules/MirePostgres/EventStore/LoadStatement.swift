import Foundation
import MireCore
import MirePQ

/// The SQL of a load: one statement returns the stream's own row (with the latest usable
/// snapshot, when asked for), then a page of events after it.
///
/// Columns: 0 kind (0 the stream's row, 1 an event); 1 the stream's version, 2…5 the latest
/// snapshot (version, encoding, uncompressed size, state), 10 its schema version and 11 whether
/// the page starts after it (right schema, not ahead of the stream) on the stream's row; 6…9 the
/// event (version, position, type, payload) on the others. PostgreSQL returns a `UNION ALL`'s branches
/// in order, and the events by version; the reader checks both rather than rely on it.
enum LoadStatement {
    /// The page after version `after` (up to `upTo`, at most `limit` events), looking for a
    /// snapshot of `snapshot.schema` when given: then the page starts after the snapshot. A
    /// snapshot is usable when its schema is the one asked for, it is not ahead of its stream,
    /// and neither its stored nor its recorded size exceeds `snapshot.maximumSize`; only a
    /// usable snapshot's bytes are sent.
    static func page(
        stream: StreamID, after: Int64, upTo: Int64?, limit: Int64, snapshot: (schema: Int, maximumSize: Int)?
    ) -> PGQuery {
        if let snapshot {
            return """
                WITH s AS (
                    SELECT version FROM mire_streams WHERE stream_id = \(stream.rawValue)
                ), sn AS (
                    SELECT sn.stream_version, sn.encoding, sn.uncompressed_size, sn.state, sn.schema_version,
                           sn.schema_version = \(Int64(snapshot.schema))::int8 AND sn.stream_version <= s.version
                           AND sn.uncompressed_size <= \(Int64(snapshot.maximumSize))::int8
                           AND octet_length(sn.state) <= \(Int64(snapshot.maximumSize))::int8 AS usable
                    FROM mire_snapshots sn, s
                    WHERE sn.stream_id = \(stream.rawValue) AND sn.stream_version > \(after)
                )
                SELECT 0, s.version, sn.stream_version, sn.encoding, sn.uncompressed_size,
                       CASE WHEN sn.usable THEN sn.state END,
                       NULL::bigint, NULL::bigint, NULL::text, NULL::jsonb, sn.schema_version, sn.usable
                FROM s LEFT JOIN sn ON true
                UNION ALL
                (SELECT 1, NULL, NULL, NULL, NULL, NULL, e.stream_version, e.global_position, e.event_type, e.payload,
                        NULL, NULL
                 FROM mire_events e, s
                 WHERE e.stream_id = \(stream.rawValue)
                   AND e.stream_version > greatest(\(after), coalesce((SELECT stream_version FROM sn WHERE usable), 0))
                   AND e.stream_version <= s.version
                 ORDER BY e.stream_version LIMIT \(limit))
                """
        }
        return """
            SELECT 0, version, NULL::bigint, NULL::text, NULL::int4, NULL::bytea,
                   NULL::bigint, NULL::bigint, NULL::text, NULL::jsonb
            FROM mire_streams WHERE stream_id = \(stream.rawValue)
            UNION ALL
            (SELECT 1, NULL, NULL, NULL, NULL, NULL, e.stream_version, e.global_position, e.event_type, e.payload
             FROM mire_events e
             WHERE e.stream_id = \(stream.rawValue) AND e.stream_version > \(after) AND e.stream_version <= \(upTo ?? Int64.max)
             ORDER BY e.stream_version LIMIT \(limit))
            """
    }

    /// The row lock a transaction's `loadForUpdate` takes before its first page.
    static func lock(_ stream: StreamID) -> PGQuery {
        "SELECT version FROM mire_streams WHERE stream_id = \(stream.rawValue) FOR UPDATE"
    }

    /// A page split into the stream's row and its event rows, these in version order.
    struct Page {
        var head: PGRow?
        /// Indices of the event rows in `rows`, by version.
        var events: [Int]
    }

    /// Finds the stream's row and orders the event rows (already in order, as a rule).
    static func split(_ rows: PGRows) throws -> Page {
        var head: PGRow?
        var events: [Int] = []
        events.reserveCapacity(rows.count)
        var previous = Int64.min
        var ordered = true
        let (kinds, versions) = (PGBinaryColumn(rows, 0), PGBinaryColumn(rows, 6))
        for index in rows.indices {
            if try kinds.int32(row: index) == 0 {
                head = rows[index]
                continue
            }
            let version = try versions.int64(row: index)
            if version < previous { ordered = false }
            previous = version
            events.append(index)
        }
        if !ordered {
            let versions = try Dictionary(
                uniqueKeysWithValues: events.map { ($0, try rows[$0].decode(Int64.self, at: 6)) })
            events.sort { versions[$0, default: 0] < versions[$1, default: 0] }
        }
        return Page(head: head, events: events)
    }

    /// The snapshot on the stream's row, if any, and whether the page's events start after it.
    static func snapshot(in row: PGRow) throws -> (snapshot: StoredSnapshot, pageStartsAfterIt: Bool)? {
        guard row.columnCount > 11, let version = try row.decode(Int64?.self, at: 2) else { return nil }
        let encoding = try row.decode(String.self, at: 3)
        let size = try row.decode(Int32.self, at: 4)
        let bytes = try row.decode(Data?.self, at: 5) ?? Data()  // sent only when usable
        let schema = try row.decode(Int32.self, at: 10)
        let usable = try row.decode(Bool.self, at: 11)
        return (
            StoredSnapshot(
                version: version, schemaVersion: Int(schema), encoding: encoding, uncompressedSize: Int(size),
                bytes: bytes),
            usable
        )
    }
}
