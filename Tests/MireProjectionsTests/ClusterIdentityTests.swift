import Foundation
import MirePQ
import MireProjections
import MireTestSupport
import Testing

@testable import MireLocalServer

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
                try await connection.query(
                    "CREATE TABLE seen (projection text, position bigint, deliveries int NOT NULL, PRIMARY KEY (projection, position))"
                )
            }
            // Eight writers whose commits come out of position order: a cursor with events
            // delivered ahead, and transaction ids that do not follow positions.
            try await writeWithOutOfOrderCommitsAndRollbacks(to: store)
            try await runner(for: store, "seen").runUntilCaughtUp()
            try await append(10, to: store, from: 1_000)  // in the log, not yet projected by "seen"
            try await runner(for: store, "caught").runUntilCaughtUp()  // at the end of the log
            // As checkpoints written before migration 008 would be: naming no cluster.
            try await store.pool.withConnection { connection in
                try await connection.query("UPDATE mire_subscriptions SET cluster_id = NULL")
            }
        }
        try copyDatabase(from: sourceConfiguration, to: copyConfiguration)

        try await withStore(on: copyConfiguration) { store in
            let refused = await #expect(throws: MireError.self) {
                try await runner(for: store, "seen").runUntilCaughtUp()
            }
            #expect(refused?.code == .foreignCheckpoint, "\(String(describing: refused))")

            // Before anyone re-anchors: a transaction holds an id open (every later one is
            // above the horizon), writers append here, and a new projection starts here (its
            // checkpoint is this cluster's; on the younger cluster it cannot pass the moved
            // history's ids, so it delivers part of the log).
            let holder = try await PGConnection.connect(configuration: copyConfiguration, logger: TestDatabase.logger)
            try await holder.query("CREATE TABLE held (v int)")
            try await holder.query("BEGIN")
            try await holder.query("INSERT INTO held VALUES (1)")
            try await append(5, to: store, from: 2_000)
            let fresh = runner(for: store, "fresh")
            let running = Task { try await fresh.run() }
            try await Task.sleep(for: .seconds(1))
            running.cancel()
            try await running.value

            let reanchoring = try await store.reanchorCheckpoints()
            #expect(reanchoring.method == (target == .younger ? .renumbered : .adopted))
            #expect(reanchoring.checkpoints >= 2)
            #expect(try await store.reanchorCheckpoints().method == .none, "running it again changes nothing")
            try await holder.query("ROLLBACK")
            await holder.close()

            try await append(5, to: store, from: 3_000)
            try await ProjectionRunner(
                store: store, projections: [projection("seen"), projection("caught"), projection("fresh")],
                configuration: testConfiguration("w"), logger: TestDatabase.logger
            ).runUntilCaughtUp()
            let log = try await store.pool.withConnection { connection in
                try await connection.query("SELECT global_position FROM mire_events ORDER BY 1").map {
                    try $0.decode(Int64.self, at: 0)
                }
            }
            for name in ["seen", "caught", "fresh"] {
                let rows = try await store.pool.withConnection { connection in
                    try await connection.query(
                        "SELECT position, deliveries FROM seen WHERE projection = \(name) ORDER BY 1"
                    ).map { try $0.decode((Int64, Int32).self) }
                }
                #expect(
                    rows.map(\.0) == log,
                    "\(name): every event delivered; missing \(Set(log).subtracting(rows.map(\.0)).sorted()), extra \(Set(rows.map(\.0)).subtracting(log).sorted())"
                )
                #expect(rows.allSatisfy { $0.1 == 1 }, "\(name): each event once: \(rows.filter { $0.1 != 1 })")
            }
        }
    }

    private func projection(_ name: String) -> Projection {
        Projection(name: name, category: nil, delivery: .transactional) { event, connection in
            try await connection.query(
                """
                INSERT INTO seen VALUES (\(name), \(event.position), 1)
                ON CONFLICT (projection, position) DO UPDATE SET deliveries = seen.deliveries + 1
                """)
        }
    }

    private func runner(for store: EventStore, _ name: String) -> ProjectionRunner {
        ProjectionRunner(
            store: store, projections: [projection(name)], configuration: testConfiguration("w"),
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

    /// `pg_dump | psql`, the way a database is moved to another cluster. (Through `ChildProcess`,
    /// not Foundation's `Process`, whose SIGCHLD handling interrupts other tests' blocking reads.)
    private func copyDatabase(from source: PGConfiguration, to target: PGConfiguration) throws {
        let port = { (configuration: PGConfiguration) in configuration.keywords["port"] ?? "5432" }
        let bin = try ServerBinaries.locate().binDirectory.path
        let copy = try ChildProcess.run(
            "/bin/bash",
            [
                "-o", "pipefail", "-c",
                "\(bin)/pg_dump -h 127.0.0.1 -p \(port(source)) -U postgres postgres"
                    + " | \(bin)/psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p \(port(target)) -U postgres postgres",
            ])
        #expect(copy.status == 0, "pg_dump | psql: \(copy.output)")
    }
}
