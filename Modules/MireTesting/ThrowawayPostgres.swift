public import Logging
import MireLocalServer
public import MirePQ
public import MirePostgres

/// A PostgreSQL server of its own for an integration test: started in a temporary directory,
/// migrated, and stopped (its files removed) when the scope ends. Needs the PostgreSQL server
/// binaries (`postgresql` on Debian, `brew install postgresql` on macOS); runs as root by
/// switching to the `postgres` user.
///
/// ```swift
/// @Test func depositsAreStored() async throws {
///     try await ThrowawayPostgres.withStore { store in
///         try await store.update(Account.self, id: "a1") { try $0.deposit(5) }
///         #expect(try await store.load(Account.self, id: "a1")?.state.balance == 5)
///     }
/// }
/// ```
public enum ThrowawayPostgres {
    /// Runs `body` with a migrated ``EventStore`` (its background work running) on a new
    /// throwaway server, then shuts the pool and the server down.
    public static func withStore<T>(
        configuration storeConfiguration: EventStore.Configuration = EventStore.Configuration(),
        logger: Logger = Logger(label: "mire.testing"), isolation: isolated (any Actor)? = #isolation,
        _ body: (EventStore) async throws -> T
    ) async throws -> T {
        let server = try LocalPostgresServer.throwaway()
        let configuration: PGConfiguration
        do {
            configuration = try await server.start()
        } catch {
            try? server.stop()  // a server that half started, and the temporary directory
            throw error
        }
        let pool = PGPool(configuration: configuration, maximumConnections: 4, logger: logger)
        let store = EventStore(pool: pool, configuration: storeConfiguration, logger: logger)
        do {
            try await store.migrate()
            let result = try await store.withBackgroundWork { try await body(store) }
            await pool.shutdown()
            try server.stop()
            return result
        } catch {
            await pool.shutdown()
            try? server.stop()
            throw error
        }
    }
}
