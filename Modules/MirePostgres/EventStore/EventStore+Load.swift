import Foundation
public import MireCore
import MirePQ

extension EventStore {
    /// Loads an aggregate by replaying its stream; nil when the stream does not exist.
    ///
    /// The stream is read in pages of ``Configuration/loadPageSize`` events, each decoded and
    /// folded before the next is fetched, so a long stream never sits in memory whole. Versions
    /// must run 1…n and end at the stream row's version; anything else is `corruptStream`, never
    /// a partially loaded aggregate.
    ///
    /// ```swift
    /// if let account = try await store.load(Account.self, id: "acc-1") {
    ///     print(account.state.balance, account.version)
    /// }
    /// ```
    public func load<A: Aggregate>(_ type: A.Type, id: String) async throws -> AggregateRoot<A>? {
        let stream = try StreamID(category: A.category, id: id)
        return try await replay(await startingPoint(A.self, stream: stream))
    }

    /// Where replay starts: a snapshot's state and version when a usable one exists, else empty.
    package func startingPoint<A: Aggregate>(_ type: A.Type, stream: StreamID) async -> AggregateRoot<A> {
        if let snapshots = configuration.snapshots,
            let restored = await snapshots.restore(A.self, stream: stream, store: self)
        {
            return restored
        }
        return AggregateRoot<A>(stream: stream, state: A(), version: 0)
    }

    /// Loads an aggregate, or returns a new empty one when its stream does not exist yet.
    ///
    /// ```swift
    /// var account = try await store.loadOrDefault(Account.self, id: "acc-1")
    /// ```
    public func loadOrDefault<A: Aggregate>(_ type: A.Type, id: String) async throws -> AggregateRoot<A> {
        let stream = try StreamID(category: A.category, id: id)
        return try await replay(await startingPoint(A.self, stream: stream))
            ?? AggregateRoot<A>(stream: stream, state: A(), version: 0)
    }

    /// Continues `root` (empty, or restored from a snapshot) with the events stored after its
    /// version. Returns nil when the stream does not exist.
    ///
    /// With `lockingStream`, the stream's row is locked (`FOR UPDATE`) by a statement sent in the
    /// same round trip just before the first page, for a transaction's `loadForUpdate`. (One
    /// statement doing both would be wrong under READ COMMITTED: after waiting for the lock it
    /// sees the row's new version but the events of its older snapshot.)
    package func replay<A: Aggregate>(
        _ start: AggregateRoot<A>, on target: QueryTarget? = nil, lockingStream: Bool = false
    ) async throws -> AggregateRoot<A>? {
        let target = target ?? .pool(pool)
        var root = start
        let codec = EventCodec<A>()
        let stream = root.id
        let pageSize = configuration.loadPageSize
        var lastVersion: Int64? = nil
        while true {
            let after = root.version
            let upTo = lastVersion ?? Int64.max
            let rows: PostgresRows
            do {
                let page: PostgresQuery = """
                    SELECT s.version, e.stream_version, e.global_position, e.event_type, e.payload
                    FROM mire_streams s
                    LEFT JOIN LATERAL (
                        SELECT stream_version, global_position, event_type, payload FROM mire_events e
                        WHERE e.stream_id = s.stream_id AND e.stream_version > \(after) AND e.stream_version <= \(upTo)
                        ORDER BY e.stream_version LIMIT \(Int64(pageSize))
                    ) e ON true
                    WHERE s.stream_id = \(stream.rawValue)
                    """
                if lockingStream && lastVersion == nil {
                    let lock: PostgresQuery =
                        "SELECT version FROM mire_streams WHERE stream_id = \(stream.rawValue) FOR UPDATE"
                    rows = try await target.query(after: lock, page)
                } else {
                    rows = try await target.query(page)
                }
            } catch {
                throw MireError.database(error, stream: stream, doing: "loading the stream", reading: true)
            }
            guard let first = rows.first else {
                if lastVersion == nil { return nil }
                throw MireError(
                    code: .corruptStream, message: "the stream row disappeared while loading", stream: stream.rawValue,
                    recovery: "streams are never deleted by Mire; check for manual changes"
                )
            }
            let streamVersion = try first.decode(Int64.self, at: 0)
            if lastVersion == nil { lastVersion = streamVersion }
            var fetched = 0
            for row in rows {
                guard let version = try row.decode(Int64?.self, at: 1) else { break }
                fetched += 1
                guard version == root.version + 1 else {
                    throw MireError(
                        code: .corruptStream,
                        message: "expected version \(root.version + 1) but found \(version) "
                            + (version <= root.version ? "(a duplicate)" : "(a gap)"),
                        stream: stream.rawValue, version: version,
                        recovery: "the log was changed outside Mire; restore it from a backup"
                    )
                }
                // Replay needs only type and payload; metadata and times are not decoded here.
                let position = try row.decode(Int64.self, at: 2)
                let type = try row.decode(String.self, at: 3)
                let payload = try row.decode(PostgresJSONB.self, at: 4)
                let event = try codec.decode(
                    type: type, payload: payload.utf8, stream: stream.rawValue, version: version, position: position)
                root.replay(event, version: version)
            }
            if root.version == lastVersion { return root }
            if fetched < pageSize {
                throw MireError(
                    code: .corruptStream,
                    message:
                        "the stream row says version \(lastVersion!) but its events end at version \(root.version)",
                    stream: stream.rawValue, version: root.version,
                    recovery: "the log was changed outside Mire; restore it from a backup"
                )
            }
        }
    }

    /// Decodes the columns (stream_version, global_position, transaction_id, event_type, payload,
    /// metadata, event_id, recorded_at), starting at `columnOffset`.
    package static func rawEvent(_ row: PostgresRow, stream: StreamID? = nil, columnOffset: Int = 0) throws
        -> RawRecordedEvent
    {
        let version = try row.decode(Int64.self, at: columnOffset)
        let position = try row.decode(Int64.self, at: columnOffset + 1)
        let transaction = try row.decode(PostgresTransactionID.self, at: columnOffset + 2)
        let type = try row.decode(String.self, at: columnOffset + 3)
        let payload = try row.decode(PostgresJSONB.self, at: columnOffset + 4)
        let metadata = try row.decode(PostgresJSONB.self, at: columnOffset + 5)
        let eventID = try row.decode(UUID.self, at: columnOffset + 6)
        let recordedAt = try row.decode(Date.self, at: columnOffset + 7)
        let streamID = try stream ?? StreamID(try row.decode(String.self, at: columnOffset + 8))
        return RawRecordedEvent(
            position: position, transactionID: transaction.rawValue, stream: streamID, version: version, type: type,
            payload: payload.utf8, metadata: EventMetadata(eventID: eventID, storedJSON: metadata.utf8),
            recordedAt: recordedAt
        )
    }
}
