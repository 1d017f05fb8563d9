import Foundation
import MireCore
import MirePQ
import MirePostgres
import MireSnapshots
import MireTestSupport
import ServiceLifecycle
import Testing

private struct Tally: SnapshottableAggregate {
    static let category = "tally"
    static let snapshotSchemaVersion = 1
    enum Event: Codable, Sendable { case added(Int) }
    var total = 0
    mutating func apply(_ event: Event) {
        if case .added(let n) = event { total += n }
    }
}

/// Background snapshot writes belong to the store's `run()`: graceful shutdown finishes them;
/// without a running store, the saver writes them.
@Suite("Snapshot writes and the store's lifecycle")
struct SnapshotLifecycleTests {
    @Test(.timeLimit(.minutes(1))) func gracefulShutdownFinishesQueuedSnapshotWritesBeforeClosingThePool()
        async throws
    {
        try await TestDatabase.withSchema { configuration in
            let pool = PGPool(configuration: configuration, maximumConnections: 3, logger: TestDatabase.logger)
            let snapshots = Snapshots(configuration: SnapshotConfiguration(every: 1), logger: TestDatabase.logger)
            let store = EventStore(
                pool: pool, configuration: .init(snapshots: snapshots, wakeUpChannel: nil),
                logger: TestDatabase.logger)
            try await store.migrate()
            // Another session holds off every snapshot write until it commits.
            let blocker = try await PGConnection.connect(
                configuration: configuration, logger: TestDatabase.logger)
            try await blocker.query("BEGIN")
            try await blocker.query("LOCK TABLE mire_snapshots IN SHARE ROW EXCLUSIVE MODE")

            let group = ServiceGroup(services: [store], logger: TestDatabase.logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                // Snapshots are queued only once the store runs (else the saver writes them and
                // would wait for the lock itself): wait for the group to start it.
                while !store.isRunning { try await Task.sleep(for: .milliseconds(5)) }
                for id in ["first", "second"] {
                    var tally = try await store.loadOrDefault(Tally.self, id: id)
                    tally.record(.added(2))
                    try await store.save(&tally)  // returns at once: its snapshot is queued
                }
                // The first write waits for the lock; the second is queued behind it.
                var waiting = false
                while !waiting {
                    waiting = try await blocker.query(
                        """
                        SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                                       WHERE c.relname = 'mire_snapshots' AND NOT l.granted)
                        """
                    ).single(Bool.self)
                }
                #expect(snapshots.statistics.written == 0)
                await group.triggerGracefulShutdown()
                try await blocker.query("COMMIT")
                try await tasks.waitForAll()
            }
            // Both writes ran before the pool closed.
            let stored = try await blocker.query(
                "SELECT stream_id FROM mire_snapshots ORDER BY stream_id"
            ).map { try $0.decode(String.self, at: 0) }
            #expect(stored == ["tally-first", "tally-second"])
            #expect(snapshots.statistics.written == 2)
            #expect(pool.statistics.open == 0)
            await blocker.close()
        }
    }

    @Test func withoutARunningStoreBackgroundSnapshotsAreWrittenByTheSaver() async throws {
        try await TestDatabase.withPool { pool in
            let snapshots = Snapshots(configuration: SnapshotConfiguration(every: 1), logger: TestDatabase.logger)
            let store = EventStore(
                pool: pool, configuration: .init(snapshots: snapshots, wakeUpChannel: nil),
                logger: TestDatabase.logger)
            try await store.migrate()
            var tally = try await store.loadOrDefault(Tally.self, id: "inline")
            tally.record(.added(3))
            try await store.save(&tally)
            // Nothing runs the store: the save wrote its snapshot before returning.
            #expect(snapshots.statistics.written == 1)
            #expect(try await store.load(Tally.self, id: "inline")?.loadDetails.snapshotVersion == 1)
        }
    }

}
