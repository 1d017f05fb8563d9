import Foundation
public import Logging
import MireLocalServer
public import MirePQ
public import MirePostgres

/// The database every integration test talks to: a throwaway PostgreSQL server that the test
/// run starts itself (once per process), or the server named by `MIRE_TEST_DATABASE_URL`.
/// If no server can be started, every integration test fails with the reason — never a skip.
///
/// ```swift
/// @Test func roundTrip() async throws {
///     try await TestDatabase.withPool { pool in
///         let value = try await pool.withConnection { try await $0.query("SELECT 1::int8").single(Int64.self) }
///         #expect(value == 1)
///     }
/// }
/// ```
public enum TestDatabase {
    private static let server = Task<PGConfiguration, any Error> {
        if let url = ProcessInfo.processInfo.environment["MIRE_TEST_DATABASE_URL"], !url.isEmpty {
            return PGConfiguration(url: url)
        }
        do {
            // pg_stat_statements lets tests count the statements a call really sent.
            let server = try LocalPostgresServer.throwaway(settings: [
                "shared_preload_libraries": "pg_stat_statements",
                // The suites run in parallel, each with its pools, listeners and child processes:
                // their peak is above the default 300.
                "max_connections": "600",
            ])
            let configuration = try await server.start()
            let connection = try await PGConnection.connect(configuration: configuration, logger: logger)
            try await connection.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA public")
            await connection.close()
            return configuration
        } catch {
            throw TestDatabaseUnavailable(reason: "\(error)")
        }
    }

    /// A logger for tests: quiet unless `MIRE_TEST_LOG_LEVEL` says otherwise.
    public static var logger: Logger {
        var logger = Logger(label: "mire.tests")
        logger.logLevel =
            ProcessInfo.processInfo.environment["MIRE_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) }
            ?? .critical
        return logger
    }

    /// How to reach the test server's default database.
    public static func configuration() async throws -> PGConfiguration {
        try await server.value
    }

    /// Runs `body` with a connection of its own to the test server as a superuser (to inspect
    /// `pg_locks`, terminate backends, …); closed afterwards.
    public static func withAdminConnection<T: Sendable>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PGConnection) async throws -> T
    ) async throws -> T {
        let admin = try await PGConnection.connect(configuration: try await configuration(), logger: logger)
        return try await ensuring {
            try await body(admin)
        } cleanup: {
            await admin.close()
        }
    }

    /// Runs `body` with a configuration whose `search_path` is a fresh schema of its own,
    /// dropped afterwards: tests never see each other's tables.
    public static func withSchema<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PGConfiguration) async throws -> T
    ) async throws -> T {
        var configuration = try await configuration()
        let schema = "t_" + UUID().uuidString.replacing("-", with: "").lowercased().prefix(16)
        let admin = try await PGConnection.connect(configuration: configuration, logger: logger)
        try await admin.query("CREATE SCHEMA \(identifier: String(schema))")
        configuration.searchPath = [String(schema)]
        return try await ensuring {
            try await body(configuration)
        } cleanup: {
            _ = try? await admin.query("DROP SCHEMA \(identifier: String(schema)) CASCADE")
            await admin.close()
        }
    }

    /// Runs `body` with a migrated event store on a fresh schema of its own.
    public static func withStore<T>(
        maximumConnections: Int = 4,
        configuration storeConfiguration: EventStore.Configuration = EventStore.Configuration(),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (EventStore) async throws -> T
    ) async throws -> T {
        try await withPool(maximumConnections: maximumConnections) { pool in
            let store = EventStore(pool: pool, configuration: storeConfiguration, logger: logger)
            try await store.migrate()
            return try await store.withBackgroundWork { try await body(store) }
        }
    }

    /// Runs `body` with a migrated event store whose connections pass through a ``FaultProxy``
    /// (fresh schema, proxy stopped afterwards), plus a second store that bypasses the proxy:
    /// the "other process" of a fault test, and the auditor that checks the log afterwards.
    public static func withProxiedStore<T>(
        maximumConnections: Int = 4,
        configuration storeConfiguration: EventStore.Configuration = EventStore.Configuration(),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (_ store: EventStore, _ proxy: FaultProxy, _ direct: EventStore) async throws -> T
    ) async throws -> T {
        try await withSchema { configuration in
            let proxy = try FaultProxy(upstream: configuration)
            let proxied = PGPool(
                configuration: proxy.configuration, maximumConnections: maximumConnections, logger: logger)
            let directPool = PGPool(configuration: configuration, maximumConnections: 4, logger: logger)
            return try await ensuring {
                let store = EventStore(pool: proxied, configuration: storeConfiguration, logger: logger)
                let direct = EventStore(pool: directPool, configuration: storeConfiguration, logger: logger)
                try await direct.migrate()
                return try await body(store, proxy, direct)
            } cleanup: {
                proxy.stop()
                await proxied.shutdown()
                await directPool.shutdown()
            }
        }
    }

    /// Runs `body` with a pool on a fresh schema of its own (see ``withSchema(isolation:_:)``).
    public static func withPool<T>(
        maximumConnections: Int = 4,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PGPool) async throws -> T
    ) async throws -> T {
        try await withSchema { configuration in
            let pool = PGPool(
                configuration: configuration, maximumConnections: maximumConnections, logger: logger)
            return try await ensuring {
                try await body(pool)
            } cleanup: {
                await pool.shutdown()
            }
        }
    }

    /// Runs `body`, then `cleanup`, whether `body` returned or threw.
    public static func ensuring<T>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: () async throws -> T,
        cleanup: () async -> Void
    ) async throws -> T {
        let result: T
        do {
            result = try await body()
        } catch {
            await cleanup()
            throw error
        }
        await cleanup()
        return result
    }
}

/// No test server could be started: install PostgreSQL or set `MIRE_TEST_DATABASE_URL`.
public struct TestDatabaseUnavailable: Error, CustomStringConvertible {
    /// Why the server could not be started.
    public let reason: String
    public var description: String {
        "No PostgreSQL server for the integration tests: \(reason). Install the server "
            + "(apt-get install postgresql libpq-dev) or set MIRE_TEST_DATABASE_URL."
    }
}
