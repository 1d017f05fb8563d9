public import MireCore
@_spi(Internals) import MireCore
import MirePQ

extension EventStore {
    /// The columns ``rawEvent(_:stream:columnOffset:)`` decodes, in order.
    package static let eventColumns =
        "stream_version, global_position, transaction_id, event_type, payload, metadata, event_id, recorded_at, stream_id"

    /// Events of one stream from `version` on (inclusive), oldest first, at most `limit`, from the
    /// primary.
    ///
    /// ```swift
    /// let firstTen = try await store.readStream(stream, from: 1, limit: 10)
    /// ```
    public func readStream(_ stream: StreamID, from version: Int64 = 1, limit: Int = 1_000) async throws
        -> [RawRecordedEvent]
    {
        try await readStream(stream, from: version, limit: limit, consistency: .primary)
    }

    /// ``readStream(_:from:limit:)`` where `consistency` allows: on the primary or the read replica.
    ///
    /// ```swift
    /// let events = try await store.readStream(stream, from: 1, limit: 100, consistency: .replica)
    /// ```
    public func readStream(_ stream: StreamID, from version: Int64, limit: Int, consistency: ReadConsistency)
        async throws -> [RawRecordedEvent]
    {
        try await read(
            """
            SELECT \(unescaped: Self.eventColumns) FROM mire_events
            WHERE stream_id = \(stream.rawValue) AND stream_version >= \(version)
            ORDER BY stream_version LIMIT \(Int64(limit))
            """, stream: stream, consistency: consistency
        )
    }

    /// Events of one stream from `version` (inclusive; nil = the end) backwards, newest first.
    ///
    /// `consistency` may send the read to the read replica.
    ///
    /// ```swift
    /// let lastFive = try await store.readStreamBackward(stream, limit: 5)
    /// ```
    public func readStreamBackward(
        _ stream: StreamID, from version: Int64? = nil, limit: Int = 1_000, consistency: ReadConsistency = .primary
    ) async throws
        -> [RawRecordedEvent]
    {
        try await read(
            """
            SELECT \(unescaped: Self.eventColumns) FROM mire_events
            WHERE stream_id = \(stream.rawValue) AND stream_version <= \(version ?? Int64.max)
            ORDER BY stream_version DESC LIMIT \(Int64(limit))
            """, stream: stream, consistency: consistency
        )
    }

    /// The whole log after `position` (exclusive), in position order, at most `limit` events.
    /// Page by passing the last position you saw; `consistency` may send the read to the read
    /// replica. (For projections that must never miss a late
    /// commit, use MireProjections' gap-safe reader instead.)
    ///
    /// ```swift
    /// var position: Int64 = 0
    /// while case let page = try await store.readAll(after: position), !page.isEmpty {
    ///     position = page.last!.position
    /// }
    /// ```
    public func readAll(after position: Int64 = 0, limit: Int = 1_000, consistency: ReadConsistency = .primary)
        async throws -> [RawRecordedEvent]
    {
        try await read(
            """
            SELECT \(unescaped: Self.eventColumns) FROM mire_events
            WHERE global_position > \(position) ORDER BY global_position LIMIT \(Int64(limit))
            """, stream: nil, consistency: consistency
        )
    }

    /// The events of one category after `position` (exclusive), in position order; `consistency`
    /// may send the read to the read replica.
    ///
    /// ```swift
    /// let accounts = try await store.readCategory("account", after: 0, limit: 500)
    /// ```
    public func readCategory(
        _ category: String, after position: Int64 = 0, limit: Int = 1_000, consistency: ReadConsistency = .primary
    ) async throws
        -> [RawRecordedEvent]
    {
        try await read(
            """
            SELECT \(unescaped: Self.eventColumns) FROM mire_events
            WHERE category = \(category) AND global_position > \(position) ORDER BY global_position LIMIT \(Int64(limit))
            """, stream: nil, consistency: consistency
        )
    }

    /// Whether a stream exists, and its version; `consistency` may send the read to the read replica.
    ///
    /// ```swift
    /// let info = try await store.streamInfo(stream)
    /// if info.exists { print(info.version) }
    /// ```
    public func streamInfo(_ stream: StreamID, consistency: ReadConsistency = .primary) async throws -> StreamInfo {
        do {
            let rows = try await routed(consistency) { target in
                try await target.query("SELECT version FROM mire_streams WHERE stream_id = \(stream.rawValue)")
            }
            return StreamInfo(stream: stream, version: try rows.first?.decode(Int64.self, at: 0) ?? 0)
        } catch {
            throw MireError.database(error, stream: stream, doing: "reading stream information", reading: true)
        }
    }

    /// An aggregate's stored events, decoded, oldest first.
    ///
    /// ```swift
    /// for recorded in try await store.history(Account.self, id: "acc-1") {
    ///     print(recorded.version, recorded.event)
    /// }
    /// ```
    public func history<A: Aggregate>(_ type: A.Type, id: String, from version: Int64 = 1, limit: Int = 1_000)
        async throws -> [RecordedEvent<A.Event>]
    {
        let codec = EventCodec<A>()
        return try await readStream(try StreamID(category: A.category, id: id), from: version, limit: limit).map {
            try codec.decode($0)
        }
    }

    private func read(_ query: PGQuery, stream: StreamID?, consistency: ReadConsistency) async throws
        -> [RawRecordedEvent]
    {
        do {
            let rows = try await routed(consistency) { target in try await target.query(query) }
            return try rows.map { try Self.rawEvent($0, stream: stream) }
        } catch {
            throw MireError.database(error, stream: stream, doing: "reading events", reading: true)
        }
    }
}
