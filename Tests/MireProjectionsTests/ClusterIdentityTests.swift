import Foundation
import MireLocalServer
import MirePQ
import MireProjections
import MireTestSupport
import Testing

/// A projection's checkpoint carries its cluster's identity: a copy of the database on another
/// cluster (here a `pg_dump` restore) refuses it until it is re-anchored, and then goes on
/// exactly where it was — whichever way the two clusters' transaction ids lie.
@Suite("Checkpoints across clusters", .timeLimit(.minutes(3)))
struct ClusterIdentityTests {
    enum Target: String, CaseIterable, Sendable {
        /// The copy lands on a younger cluster: the moved ids are ahead of its own.
        case younger
        /// The copy lands on a cluster whose ids are ahead of the moved ones.
        case older
    }

    @Test(arguments: Target.allCases)
    func aCheckpointFromAnotherClusterIsRefusedUntilReanchoredThenDeliveryGoesOnExactly(target: Target)
        async throws
    {
        let source = try LocalPostgresServer.throwaway()
        let sourceConfiguration = try await source.start()
        defer { try? source.stop() }
        let copy = try LocalPostgresServer.throwaway()
        let copyConfiguration = try await copy.start()
        defer { try? copy.stop() }

        // The source has used more transaction ids than a fresh cluster; the "older" target more still.
        try await burnTransactionIDs(400, on: sourceConfiguration)
        if target == .older { try await burnTransactionIDs(1_500, on: copyConfiguration) }

        try await withStore(on: sourceConfiguration) { store in
            try await store.pool.withConnection { connection in
                try await connection.query("CREATE TABLE seen (position bigint PRIMARY KEY, deliveries int NOT NULL)")
            }
            try await append(30, to: store, from: 1)
            try await runner(for: store).runUntilCaughtUp()
            try await append(10, to: store, from: 31)  // in the log, not yet projected
        }
        try copyDatabase(from: sourceConfiguration, to: copyConfiguration)

        try await withStore(on: copyConfiguration) { store in
            let refused = await #expect(throws: MireError.self) { try await runner(for: store).runUntilCaughtUp() }
            #expect(refused?.code == .foreignCheckpoint, "\(String(describing: refused))")
            #expect(try await seenCount(store) == 30, "nothing was delivered on a foreign checkpoint")

            let reanchoring = try await store.reanchorCheckpoints()
            #expect(reanchoring.method == (target == .younger ? .renumbered : .adopted))
            #expect(reanchoring.checkpoints == 1)
            #expect(try await store.reanchorCheckpoints().method == .none, "running it again changes nothing")

            try await append(10, to: store, from: 41)
            try await runner(for: store).runUntilCaughtUp()
            let rows = try await store.pool.withConnection { connection in
                try await connection.query(
                    """
                    SELECT e.global_position, s.deliveries FROM mire_events e
                    FULL JOIN seen s ON s.position = e.global_position ORDER BY 1
                    """
                ).map { try $0.decode((Int64?, Int32?).self) }
            }
            #expect(rows.count == 50)
            #expect(rows.allSatisfy { $0.0 != nil && $0.1 == 1 }, "every event delivered once: \(rows)")
        }
    }

    private func runner(for store: EventStore) -> ProjectionRunner {
        let projection = Projection(name: "seen", category: nil, delivery: .transactional) { event, connection in
            try await connection.query(
                """
                INSERT INTO seen VALUES (\(event.position), 1)
                ON CONFLICT (position) DO UPDATE SET deliveries = seen.deliveries + 1
                """)
        }
        return ProjectionRunner(
            store: store, projections: [projection], configuration: testConfiguration("w"),
            logger: TestDatabase.logger)
    }

    private func append(_ count: Int, to store: EventStore, from first: Int64) async throws {
        for value in first..<first + Int64(count) {
            try await store.update(Tally.self, id: "t\(value % 3)") { $0.record(.added(value)) }
        }
    }

    private func seenCount(_ store: EventStore) async throws -> Int64 {
        try await store.pool.withConnection { try await $0.query("SELECT count(*) FROM seen").single(Int64.self) }
    }

    private func withStore(on configuration: PGConfiguration, _ body: (EventStore) async throws -> Void)
        async throws
    {
        let pool = PGPool(configuration: configuration, maximumConnections: 4, logger: TestDatabase.logger)
        try await TestDatabase.ensuring {
            let store = EventStore(pool: pool, configuration: .init(wakeUpChannel: nil), logger: TestDatabase.logger)
            try await store.migrate()
            try await body(store)
        } cleanup: {
            await pool.shutdown()
        }
    }

    /// Each autocommitted `pg_current_xact_id()` uses one transaction id.
    private func burnTransactionIDs(_ count: Int, on configuration: PGConfiguration) async throws {
        let connection = try await PGConnection.connect(configuration: configuration, logger: TestDatabase.logger)
        for _ in 0..<count { try await connection.query("SELECT pg_current_xact_id()") }
        await connection.close()
    }

    /// `pg_dump | psql`, the way a database is moved to another cluster.
    private func copyDatabase(from source: PGConfiguration, to target: PGConfiguration) throws {
        let port = { (configuration: PGConfiguration) in configuration.keywords["port"] ?? "5432" }
        let process = Process()
        process.executableURL = URL(filePath: "/bin/bash")
        process.arguments = [
            "-o", "pipefail", "-c",
            "pg_dump -h 127.0.0.1 -p \(port(source)) -U postgres postgres"
                + " | psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p \(port(target)) -U postgres postgres",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = "/usr/lib/postgresql/15/bin:" + (environment["PATH"] ?? "/usr/bin:/bin")
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "pg_dump | psql")
    }
}
