import Foundation
import MireCore
import MirePQ
import MireTestSupport
import Testing

@testable import MirePostgres

@Suite("Migrations", .timeLimit(.minutes(3)))
struct MigrationTests {
    /// The SQL compiled into the library is exactly the text of `Migrations/*.sql`.
    @Test func embeddedSQLEqualsTheFiles() throws {
        let directory = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "../../Migrations")
            .standardized
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        #expect(!files.isEmpty)
        #expect(Migration.all.map(\.name) == files)
        for migration in Migration.all {
            let text = try String(contentsOf: directory.appending(path: migration.name), encoding: .utf8)
            #expect(migration.sql == text, "\(migration.name) differs from its file")
        }
        #expect(Migration.all.map(\.version) == Array(1...Migration.all.count))
    }

    @Test func migrateIsIdempotent() async throws {
        try await TestDatabase.withPool { pool throws in
            let migrator = Migrator(pool: pool, logger: TestDatabase.logger)
            let first = try await migrator.migrate()
            #expect(first.map(\.name) == Migration.all.map(\.name))
            let second = try await migrator.migrate()
            #expect(second.isEmpty)
            #expect(try await migrator.status().allSatisfy(\.isApplied))
            let tables = try await pool.withConnection { connection in
                try await connection.query(
                    "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1"
                ).map { try $0.decode(String.self, at: 0) }
            }
            #expect(
                tables == [
                    "mire_events", "mire_outbox", "mire_process_deadlines", "mire_process_states",
                    "mire_projection_leases",
                    "mire_projection_skipped", "mire_schema_migrations", "mire_snapshots", "mire_streams",
                    "mire_subscriptions",
                ])
        }
    }

    @Test func concurrentMigratorsApplyEachMigrationOnce() async throws {
        try await TestDatabase.withSchema { configuration throws in
            // Separate pools stand in for separate replicas starting together.
            let applied = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 {
                    group.addTask {
                        let pool = PGPool(
                            configuration: configuration, maximumConnections: 1, logger: TestDatabase.logger)
                        defer { Task { await pool.shutdown() } }
                        return try await Migrator(pool: pool, logger: TestDatabase.logger).migrate().count
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(applied.reduce(0, +) == Migration.all.count)
            #expect(applied.filter { $0 > 0 }.count == 1)
            let connection = try await PGConnection.connect(
                configuration: configuration, logger: TestDatabase.logger)
            let recorded = try await connection.query("SELECT count(*) FROM mire_schema_migrations").single(Int64.self)
            #expect(recorded == Int64(Migration.all.count))
            await connection.close()
        }
    }

    @Test func anEditedAppliedMigrationIsRefused() async throws {
        try await TestDatabase.withPool { pool throws in
            try await Migrator(pool: pool, logger: TestDatabase.logger).migrate()
            let original = Migration.all[0]
            let edited = Migration(version: original.version, name: original.name, sql: original.sql + "\n-- edited\n")
            let error = await #expect(throws: MireError.self) {
                try await Migrator(pool: pool, migrations: [edited], logger: TestDatabase.logger).migrate()
            }
            #expect(error?.code == .migration)
            #expect(error?.message.contains(original.name) == true)
            #expect(error?.recovery != nil)
        }
    }

    @Test func aFailingMigrationRollsBackAndSaysWhich() async throws {
        try await TestDatabase.withPool { pool throws in
            let broken = Migration(version: 900, name: "900_broken.sql", sql: "CREATE TABLE half (id int); SELEC oops;")
            let error = await #expect(throws: MireError.self) {
                try await Migrator(pool: pool, migrations: Migration.all + [broken], logger: TestDatabase.logger)
                    .migrate()
            }
            #expect(error?.message.contains("900_broken.sql") == true)
            let exists = try await pool.withConnection {
                try await $0.query("SELECT to_regclass('half') IS NOT NULL").single(Bool.self)
            }
            #expect(exists == false)
            // Earlier migrations stay applied.
            #expect(try await Migrator(pool: pool, logger: TestDatabase.logger).status().allSatisfy(\.isApplied))
        }
    }

    @Test func theEventLogIsAppendOnly() async throws {
        try await TestDatabase.withPool { pool throws in
            try await Migrator(pool: pool, logger: TestDatabase.logger).migrate()
            try await pool.withConnection { connection throws in
                try await connection.query(
                    """
                    WITH s AS (INSERT INTO mire_streams (stream_id, category, version) VALUES ('a-1', 'a', 1))
                    INSERT INTO mire_events (stream_id, stream_version, category, event_id, event_type, payload)
                    VALUES ('a-1', 1, 'a', gen_random_uuid(), 'a.created', '{}')
                    """
                )
                for statement: PGQuery in [
                    "UPDATE mire_events SET payload = '{\"x\":1}'", "DELETE FROM mire_events",
                    "TRUNCATE mire_events CASCADE",
                ] {
                    let error = await #expect(throws: PGError.self) { try await connection.query(statement) }
                    #expect(error?.sqlState == "P0M01")
                    #expect(error?.message.contains("append-only") == true)
                }
                #expect(try await connection.query("SELECT count(*) FROM mire_events").single(Int64.self) == 1)
            }
        }
    }
}

@Suite("Migration lock", .timeLimit(.minutes(2)))
struct MigrationLockTests {
    /// However a migration run ends — cancelled at any moment included — the pooled connection
    /// it ran on holds no advisory lock afterwards (or was closed).
    @Test func aCancelledMigrationNeverLeavesItsLockOnAPooledConnection() async throws {
        for round in 0..<12 {
            try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
                let run = Task { try await Migrator(pool: pool, logger: TestDatabase.logger).migrate() }
                try await Task.sleep(for: .milliseconds(round * 3))
                run.cancel()
                _ = try? await run.value
                let held = try await pool.withConnection { connection in
                    try await connection.query(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
                    ).single(Int64.self)
                }
                #expect(held == 0, "round \(round)")
            }
        }
    }
}
