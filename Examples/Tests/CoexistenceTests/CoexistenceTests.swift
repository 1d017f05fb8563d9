import Coexistence
import Logging
import MireLocalServer
import MirePQ
import MirePostgres
import MireProjections
import PostgresNIO
import Testing

/// postgres-nio and Mire in one process, on one throwaway server: each reads what the other
/// wrote, and a file that imports both compiles (``Ledger``).
@Suite("Mire beside postgres-nio", .timeLimit(.minutes(5)))
struct CoexistenceTests {
    @Test func bothDriversSeeTheSameEvents() async throws {
        let server = try LocalPostgresServer.throwaway()
        let configuration = try await server.start()
        defer { try? server.stop() }
        let logger = Logger(label: "coexistence")
        let pool = PGPool(configuration: configuration, maximumConnections: 2, logger: logger)
        let store = EventStore(pool: pool, logger: logger)
        try await store.migrate()
        let port = try #require(configuration.keywords["port"].flatMap(Int.init))
        let client = PostgresClient(
            configuration: PostgresClient.Configuration(
                host: "127.0.0.1", port: port, username: LocalPostgresServer.superuser, password: nil,
                database: configuration.keywords["dbname"] ?? "postgres", tls: .disable),
            backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            let ledger = Ledger(store: store, client: client)
            try await ledger.add(5, to: "t1")
            #expect(try await ledger.add(7, to: "t1") == 12)
            #expect(try await ledger.eventsStored(in: "t1") == 2)
            #expect(try await ledger.eventsStoredThroughMire(in: "t1") == 2)

            // The projection writes through Mire's connection; postgres-nio reads the table.
            try await client.query("CREATE TABLE tally_totals (tally text PRIMARY KEY, total bigint NOT NULL)")
            var runnerConfiguration = ProjectionRunner.Configuration(workerID: "coexistence")
            runnerConfiguration.pollInterval = .milliseconds(100)
            let runner = ProjectionRunner(
                store: store, projections: [Ledger.totals], configuration: runnerConfiguration, logger: logger)
            try await runner.runUntilCaughtUp()
            var total: Int64?
            for try await value in try await client.query("SELECT total FROM tally_totals WHERE tally = 't1'")
                .decode(Int64.self)
            {
                total = value
            }
            #expect(total == 12)
            group.cancelAll()
        }
        await pool.shutdown()
    }
}
