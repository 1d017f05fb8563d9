import Foundation
import Logging
import MireLocalServer
import MirePQ
public import MirePostgres

/// The server benchmarks run against: `MIRE_BENCH_DATABASE_URL`, or a throwaway local server
/// with PostgreSQL's durable defaults (fsync on), so write figures mean something.
public enum BenchmarkServer {
    /// Starts (or names) the server and returns how to reach it.
    /// With `durable: false` (for profiling the client only) commits do not wait for the disk.
    public static func start(durable: Bool = true) async throws -> PGConfiguration {
        if let url = ProcessInfo.processInfo.environment["MIRE_BENCH_DATABASE_URL"], !url.isEmpty {
            return PGConfiguration(url: url, applicationName: "mire-bench")
        }
        let settings =
            durable
            ? ["fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"]
            : ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"]
        let server = try LocalPostgresServer.throwaway(settings: settings)
        return try await server.start()
    }

    /// A migrated event store on the benchmark server (started here): the server's
    /// configuration, the store's pool, and the store.
    ///
    /// ```swift
    /// let (configuration, pool, store) = try await BenchmarkServer.store(maximumConnections: 8)
    /// ```
    public static func store(
        maximumConnections: Int, configuration storeConfiguration: EventStore.Configuration = .init()
    ) async throws -> (configuration: PGConfiguration, pool: PGPool, store: EventStore) {
        let configuration = try await start()
        let logger = Logger(label: "bench")
        let pool = PGPool(configuration: configuration, maximumConnections: maximumConnections, logger: logger)
        let store = EventStore(pool: pool, configuration: storeConfiguration, logger: logger)
        try await store.migrate()
        return (configuration, pool, store)
    }

    /// The libpq conninfo string for `configuration` (for the raw side).
    public static func conninfo(_ configuration: PGConfiguration) -> String {
        if !configuration.connectionString.isEmpty { return configuration.connectionString }
        return configuration.keywords.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
    }
}
