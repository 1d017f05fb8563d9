import MireLocalServer
import MirePQ
import MirePostgres
import MireTestSupport

/// A throwaway primary and its synchronous standby `s1`, both running, for `body`; both stopped
/// afterwards (whatever `body` stopped or promoted meanwhile).
///
/// ```swift
/// try await withSynchronousPair { primary, standby in … }
/// ```
func withSynchronousPair(
    _ body: (
        _ primary: (server: LocalPostgresServer, configuration: PGConfiguration),
        _ standby: (server: LocalPostgresServer, configuration: PGConfiguration)
    ) async throws -> Void
) async throws {
    let primary = try LocalPostgresServer.throwaway(settings: ["synchronous_commit": "on"])
    let primaryConfiguration = try await primary.start()
    defer { try? primary.stop() }
    let standby = try await LocalPostgresServer.standby(of: primary, name: "s1")
    let standbyConfiguration = try await standby.start()
    defer { try? standby.stop() }
    try await primary.requireSynchronousStandby(["s1"])
    try await body((primary, primaryConfiguration), (standby, standbyConfiguration))
}

/// A log of numbers, one per event, so that a lost, doubled or stale save shows.
struct Numbers: Aggregate {
    static let category = "numbers"
    enum Event: Codable, Sendable { case counted(Int64) }
    var values: [Int64] = []
    mutating func apply(_ event: Event) {
        if case .counted(let value) = event { values.append(value) }
    }
}

/// A migrated store whose pool names both servers of a synchronous pair, in one connection
/// string (libpq connects to the one that takes writes), for `body`.
///
/// ```swift
/// try await withStoreOnSynchronousPair(maximumConnections: 2) { store, primary, standby in … }
/// ```
func withStoreOnSynchronousPair(
    maximumConnections: Int,
    _ body: (
        _ store: EventStore,
        _ primary: (server: LocalPostgresServer, configuration: PGConfiguration),
        _ standby: (server: LocalPostgresServer, configuration: PGConfiguration)
    ) async throws -> Void
) async throws {
    try await withSynchronousPair { primary, standby in
        let pool = PGPool(
            configuration: try LocalPostgresServer.writableConfiguration(among: [primary.server, standby.server]),
            maximumConnections: maximumConnections, logger: TestDatabase.logger)
        try await TestDatabase.ensuring {
            let store = EventStore(pool: pool, configuration: .init(wakeUpChannel: nil), logger: TestDatabase.logger)
            try await store.migrate()
            try await body(store, primary, standby)
        } cleanup: {
            await pool.shutdown()
        }
    }
}
