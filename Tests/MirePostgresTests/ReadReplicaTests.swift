import Foundation
import MetricsTestKit
import MireLocalServer
import MirePQ
import MirePostgres
import MireTestSupport
import Testing

/// Loads on a hot standby: read-your-writes with commit tokens, and the fall-backs to the primary.
/// Serialized: they count the process-wide `mire_replica_reads` metric.
@Suite("Reads on a standby", .serialized, .timeLimit(.minutes(3)))
struct ReadReplicaTests {
    @Test func readYourWritesOnTheStandbyHoldsUnderLoad() async throws {
        let metrics = recorded
        try await withReplicaStore(maximumWait: .seconds(5)) { store, standby in
            // The standby applies each commit 20 ms late: a token read that did not wait for
            // its commit would be stale every time.
            let admin = try await PGConnection.connect(
                configuration: standby.configuration, logger: TestDatabase.logger)
            try await admin.query("ALTER SYSTEM SET recovery_min_apply_delay = '20ms'")
            try await admin.query("SELECT pg_reload_conf()")
            await admin.close()
            let before = served(metrics)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        for value in Int64(1)...40 {
                            let saved = try await store.update(Numbers.self, id: "w\(writer)") {
                                $0.record(.counted(value))
                            }
                            let token = try #require(saved.commitToken)
                            let read = try #require(
                                try await store.load(
                                    Numbers.self, id: "w\(writer)", consistency: .replica(after: token)))
                            #expect(read.version == saved.root.version, "a token read is never older than its save")
                            #expect(read.state.values == Array(1...value))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let after = served(metrics)
            #expect(after.replica - before.replica >= 120, "the standby served most token reads: \(after)")
            #expect(after.total - before.total == 160)
        }
    }

    @Test func aStandbyThatFallsBehindMakesTokenReadsFallBackAndNeverServesThemStale() async throws {
        let metrics = recorded
        try await withReplicaStore(maximumWait: .milliseconds(300)) { store, standby in
            var token: CommitToken?
            for value in Int64(1)...3 {
                token = try await store.update(Numbers.self, id: "t") { $0.record(.counted(value)) }.commitToken
            }
            let caughtUp = try await store.load(Numbers.self, id: "t", consistency: .replica(after: token))
            #expect(caughtUp?.version == 3)

            // The standby stops replaying (it still receives and flushes WAL, so commits go on).
            let admin = try await PGConnection.connect(
                configuration: standby.configuration, logger: TestDatabase.logger)
            try await admin.query("SELECT pg_wal_replay_pause()")
            for _ in 0..<200 {
                if try await admin.query("SELECT pg_get_wal_replay_pause_state()").single(String.self) == "paused" {
                    break
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            let saved = try await store.update(Numbers.self, id: "t") { $0.record(.counted(4)) }

            let before = served(metrics)
            let stale = try await store.load(Numbers.self, id: "t", consistency: .replica)
            #expect(stale?.version == 3, "without a token the standby answers, as it is")
            let fresh = try await store.load(Numbers.self, id: "t", consistency: .replica(after: saved.commitToken))
            #expect(fresh?.version == 4, "with a token: the primary, after the bounded wait")
            var after = served(metrics)
            #expect(after.replica - before.replica == 1)
            #expect(after.behind - before.behind == 1)

            try await admin.query("SELECT pg_wal_replay_resume()")
            await admin.close()
            let replayed = try await store.load(Numbers.self, id: "t", consistency: .replica(after: saved.commitToken))
            #expect(replayed?.version == 4)
            #expect(served(metrics).replica - after.replica == 1, "replaying again, the standby serves it")

            // A token is its event's position and id: the same position with another id (what an
            // asynchronous failover could leave) is never taken as shown.
            let fourth = try #require(saved.commitToken)
            #expect(CommitToken(fourth.description) == fourth)
            #expect(CommitToken("mire-commit:\(fourth.position)") == nil)
            after = served(metrics)
            let forged = CommitToken(position: fourth.position, eventID: UUID())
            _ = try await store.load(Numbers.self, id: "t", consistency: .replica(after: forged))
            #expect(served(metrics).behind - after.behind == 1)
            #expect(ReadConsistency.replica(after: nil) == .primary, "no token: nothing says how fresh, so the primary")

            // The standby goes away: replica reads are served by the primary.
            after = served(metrics)
            try await standby.server.shutDown()
            let withoutStandby = try await store.load(Numbers.self, id: "t", consistency: .replica)
            #expect(withoutStandby?.version == 4)
            #expect(served(metrics).unavailable - after.unavailable == 1)
        }
    }

    private func served(_ metrics: TestMetrics) -> (replica: Int64, behind: Int64, unavailable: Int64, total: Int64) {
        func count(_ outcome: String) -> Int64 {
            metrics.counterTotal(label: "mire_replica_reads", dimensions: [("served_by", outcome)])
        }
        let replica = count("replica")
        let behind = count("primary_replica_behind")
        let unavailable = count("primary_replica_unavailable")
        return (replica, behind, unavailable, replica + behind + unavailable)
    }

    /// A store whose pool is the primary's and whose read replica is the synchronous standby.
    private func withReplicaStore(
        maximumWait: Duration,
        _ body: (EventStore, (server: LocalPostgresServer, configuration: PGConfiguration)) async throws -> Void
    ) async throws {
        try await withSynchronousPair { primary, standby in
            let pool = PGPool(configuration: primary.configuration, maximumConnections: 8, logger: TestDatabase.logger)
            let replicaPool = PGPool(
                configuration: standby.configuration, maximumConnections: 8, logger: TestDatabase.logger)
            try await TestDatabase.ensuring {
                let store = EventStore(
                    pool: pool,
                    configuration: .init(
                        wakeUpChannel: nil, readReplica: ReadReplica(pool: replicaPool, maximumWait: maximumWait)),
                    logger: TestDatabase.logger)
                try await store.migrate()
                try await body(store, standby)
            } cleanup: {
                await pool.shutdown()
                await replicaPool.shutdown()
            }
        }
    }
}
