import Logging
import MirePQ
import MirePostgres
import MireProjections
import PostgresNIO

/// A counter, as event-sourced aggregates go: the fold of its `added` events.
public struct Tally: Aggregate {
    public static let category = "tally"

    public enum Event: Codable, Sendable {
        case added(Int64)
    }

    public var total: Int64 = 0

    public init() {}

    public mutating func apply(_ event: Event) {
        if case .added(let amount) = event { total += amount }
    }
}

/// An app that already talks to PostgreSQL through postgres-nio (`PostgresClient`,
/// `PostgresConnection`, `PostgresQuery`) and keeps its events in Mire (`EventStore` over a
/// `PGPool`): both in one file, every name unambiguous.
///
/// ```swift
/// let ledger = Ledger(store: store, client: client)
/// try await ledger.add(5, to: "t1")
/// let stored = try await ledger.eventsStored(in: "t1")   // read through postgres-nio
/// ```
public struct Ledger: Sendable {
    public let store: EventStore
    public let client: PostgresClient

    public init(store: EventStore, client: PostgresClient) {
        self.store = store
        self.client = client
    }

    /// Records `amount` on tally `id` through Mire: load → record → save.
    @discardableResult
    public func add(_ amount: Int64, to id: String) async throws -> Int64 {
        try await store.update(Tally.self, id: id) { $0.record(.added(amount)) }.root.state.total
    }

    /// How many events tally `id` has, read by postgres-nio from Mire's table.
    public func eventsStored(in id: String) async throws -> Int64 {
        let stream = try StreamID(category: Tally.category, id: id).rawValue
        let query: PostgresQuery = "SELECT count(*) FROM mire_events WHERE stream_id = \(stream)"
        return try await client.withConnection { (connection: PostgresConnection) in
            var total: Int64 = 0
            for try await count in try await connection.query(query, logger: Logger(label: "ledger")).decode(Int64.self)
            {
                total = count
            }
            return total
        }
    }

    /// The same count through Mire's own driver, for comparison.
    public func eventsStoredThroughMire(in id: String) async throws -> Int64 {
        let stream = try StreamID(category: Tally.category, id: id).rawValue
        let query: PGQuery = "SELECT count(*) FROM mire_events WHERE stream_id = \(stream)"
        return try await store.pool.withConnection { (connection: PGConnection) in
            try await connection.query(query).first?.decode(Int64.self, at: 0) ?? 0
        }
    }

    /// A projection of tallies, defined next to postgres-nio's types: its handler gets Mire's
    /// connection (`PGConnection`) inside the projection's transaction.
    public static let totals = Projection.transactional("tally_totals", of: Tally.self) { recorded, connection in
        guard case .added(let amount) = recorded.event else { return }
        let tally = recorded.stream.entityID
        try await connection.query(
            """
            INSERT INTO tally_totals (tally, total) VALUES (\(tally), \(amount))
            ON CONFLICT (tally) DO UPDATE SET total = tally_totals.total + excluded.total
            """)
    }
}
