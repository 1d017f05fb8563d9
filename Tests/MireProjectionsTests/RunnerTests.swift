import Foundation
import MirePQ
import MireProjections
import MireTestSupport
import MireTransactions
import Testing

@testable import MirePostgres

@Suite("Projection runner", .timeLimit(.minutes(3)))
struct RunnerTests {
    @Test func aTransactionalProjectionBuildsItsReadModelExactlyOnce() async throws {
        try await TestDatabase.withStore(maximumConnections: 6) { store throws in
            try await store.pool.withConnection {
                try await $0.query("CREATE TABLE totals (id text PRIMARY KEY, total int8)")
            }
            let projection = Projection.transactional("totals", of: Tally.self) { recorded, connection in
                guard case .added(let amount) = recorded.event else { return }
                try await connection.query(
                    """
                    INSERT INTO totals VALUES (\(recorded.stream.entityID), \(amount))
                    ON CONFLICT (id) DO UPDATE SET total = totals.total + EXCLUDED.total
                    """)
            }
            let runner = ProjectionRunner(
                store: store, projections: [projection], configuration: testConfiguration("w"),
                logger: TestDatabase.logger)
            try await whileRunning(runner) {
                var last: Int64 = 0
                for index in 0..<30 {
                    var tally = try await store.loadOrDefault(Tally.self, id: "t\(index % 3)")
                    tally.record(.added(Int64(index)))
                    last = try await store.save(&tally).positions[0]
                }
                try await runner.waitUntilCaughtUp("totals", to: last)
            }
            let totals = try await store.pool.withConnection { connection in
                try await connection.query("SELECT sum(total)::int8 FROM totals").single(Int64.self)
            }
            #expect(totals == (0..<30).reduce(0, +))
            let status = try await runner.status("totals")
            #expect(status.eventsHandled == 30)
            #expect(status.lag == 0)
        }
    }

    /// Writers keep transactions open for random times, commit out of position order or roll
    /// back; the projection must see every committed event exactly once, each stream in order.
    @Test func gapTorture() async throws {
        try await TestDatabase.withStore(maximumConnections: 12) { store throws in
            let seen = Seen()
            let projection = Projection(name: "torture", category: nil, delivery: .transactional) { event, _ in
                seen.append(event)
            }
            var configuration = testConfiguration("w")
            configuration.batchSize = 7
            let runner = ProjectionRunner(
                store: store, projections: [projection], configuration: configuration, logger: TestDatabase.logger)
            try await whileRunning(runner) {
                try await writeWithOutOfOrderCommitsAndRollbacks(to: store)
                let log = try await store.readAll(limit: 10_000)
                try await runner.waitUntilCaughtUp("torture", to: log.map(\.position).max()!, timeout: .seconds(60))
                let problems = checkDelivery(seen.all, against: log)
                #expect(problems.isEmpty, "\(problems)")
            }
        }
    }

    /// A transaction that drew its xid early appends v2 after another appended v1: v1 must come
    /// first. While v1's transaction is below the horizon but an older one is open, v2 is held;
    /// a restart then loses nothing and delivers each once.
    @Test func anEarlyXidStillDeliversVersionsInOrderAcrossARestart() async throws {
        try await TestDatabase.withStore(maximumConnections: 8) { store throws in
            try await store.pool.withConnection { try await $0.query("CREATE TABLE scratch (v int)") }
            let stream = try StreamID(category: "tally", id: "early")
            let event = { try NewEvent(Tally.self, .added(1)) }
            let configuration = try await TestDatabase.configuration()
            var scoped = configuration
            scoped.searchPath = store.pool.configuration.searchPath
            let early = try await PGConnection.connect(configuration: scoped, logger: TestDatabase.logger)
            let blocker = try await PGConnection.connect(configuration: scoped, logger: TestDatabase.logger)

            // T1 draws its xid first, then T0 (kept open, so the horizon stays below T2).
            try await early.query("BEGIN")
            try await early.query("INSERT INTO scratch VALUES (1)")
            try await blocker.query("BEGIN")
            try await blocker.query("INSERT INTO scratch VALUES (0)")
            // T2 appends v1 and commits; T1 appends v2 and commits.
            try await store.append([try event()], to: stream, expecting: .noStream)
            _ = try await store.append([try event()], to: stream, expecting: .exact(1), on: .connection(early))
            try await early.query("COMMIT")

            let seen = Seen()
            let projection = Projection(name: "ordered", category: "tally", delivery: .transactional) { event, _ in
                seen.append(event)
            }
            let first = ProjectionRunner(
                store: store, projections: [projection], configuration: testConfiguration("first"),
                logger: TestDatabase.logger)
            try await whileRunning(first) {
                try await Task.sleep(for: .milliseconds(400))
            }
            #expect(seen.all.isEmpty)  // v2 is held back: v1's transaction is not below the horizon yet

            try await blocker.query("COMMIT")
            let second = ProjectionRunner(
                store: store, projections: [projection], configuration: testConfiguration("second"),
                logger: TestDatabase.logger)
            let log = try await store.readAll()
            try await whileRunning(second) {
                try await second.waitUntilCaughtUp("ordered", to: log.map(\.position).max()!, timeout: .seconds(25))
            }
            #expect(seen.all.map(\.version) == [1, 2])
            #expect(checkDelivery(seen.all, against: log).isEmpty)
            #expect(try await second.status("ordered").eventsHandled == 2)
            await early.close()
            await blocker.close()
        }
    }

    @Test func aFailingHandlerIsRetriedAndNothingIsSkipped() async throws {
        try await TestDatabase.withStore { store throws in
            let failuresLeft = Locked(3)
            try await store.pool.withConnection { try await $0.query("CREATE TABLE handled (id serial, version int8)") }
            struct Flaky: Error {}
            // The read model is in the database: a failed batch's writes roll back with it.
            let projection = Projection(name: "flaky", category: "tally", delivery: .transactional) {
                event, connection in
                try await connection.query("INSERT INTO handled (version) VALUES (\(event.version))")
                if event.version == 2,
                    failuresLeft.withLock({ left in
                        left -= 1
                        return left >= 0
                    })
                {
                    throw Flaky()
                }
            }
            let runner = ProjectionRunner(
                store: store, projections: [projection], configuration: testConfiguration("w"),
                logger: TestDatabase.logger)
            var tally = try await store.loadOrDefault(Tally.self, id: "f")
            for amount in 1...4 { tally.record(.added(Int64(amount))) }
            let saved = try await store.save(&tally)
            try await whileRunning(runner) {
                try await runner.waitUntilCaughtUp("flaky", to: saved.positions.last!)
            }
            // Rolled-back attempts left no trace: each event was handled once, in order.
            let handled = try await store.pool.withConnection { connection in
                try await connection.query("SELECT version FROM handled ORDER BY id").map {
                    try $0.decode(Int64.self, at: 0)
                }
            }
            #expect(handled == [1, 2, 3, 4])
            #expect(failuresLeft.value < 0)
        }
    }

    @Test func thePoisonPolicySkipsAndRecordsTheEvent() async throws {
        try await TestDatabase.withStore { store throws in
            try await store.pool.withConnection { try await $0.query("CREATE TABLE handled (id serial, version int8)") }
            struct Poison: Error, CustomStringConvertible { var description: String { "cannot handle this one" } }
            let projection = Projection(name: "poisoned", category: "tally", delivery: .transactional) {
                event, connection in
                if event.version == 2 { throw Poison() }
                try await connection.query("INSERT INTO handled (version) VALUES (\(event.version))")
            }
            var configuration = testConfiguration("w")
            configuration.poisonPolicy = .skipAfter(attempts: 3)
            let runner = ProjectionRunner(
                store: store, projections: [projection], configuration: configuration, logger: TestDatabase.logger)
            var tally = try await store.loadOrDefault(Tally.self, id: "p")
            for amount in 1...3 { tally.record(.added(Int64(amount))) }
            let saved = try await store.save(&tally)
            try await whileRunning(runner) {
                try await runner.waitUntilCaughtUp("poisoned", to: saved.positions.last!)
            }
            let handled = try await store.pool.withConnection { connection in
                try await connection.query("SELECT version FROM handled ORDER BY id").map {
                    try $0.decode(Int64.self, at: 0)
                }
            }
            #expect(handled == [1, 3])
            let skipped = try await store.pool.withConnection { connection in
                try await connection.query(
                    "SELECT global_position, stream_version, error, attempts FROM mire_projection_skipped WHERE name = 'poisoned'"
                )
                .map { try $0.decode((Int64, Int64, String, Int32).self) }
            }
            #expect(skipped.count == 1)
            #expect(skipped.first?.0 == saved.positions[1])
            #expect(skipped.first?.2.contains("cannot handle") == true)
            #expect(skipped.first?.3 == 3)
        }
    }

    @Test func notificationsWakeTheRunnerWithoutWaitingForThePoll() async throws {
        try await TestDatabase.withSchema { configuration throws in
            // A channel of its own, so other tests' writes do not wake this runner.
            let channel = "mire_test_" + UUID().uuidString.prefix(8).lowercased()
            let pool = PGPool(configuration: configuration, maximumConnections: 4, logger: TestDatabase.logger)
            let store = EventStore(
                pool: pool, configuration: .init(wakeUpChannel: channel), logger: TestDatabase.logger)
            try await store.migrate()
            var runnerConfiguration = testConfiguration("w")
            runnerConfiguration.pollInterval = .seconds(30)
            runnerConfiguration.wakeUpChannel = channel
            let seen = Seen()
            let projection = Projection(name: "woken", category: "tally", delivery: .plain) { event, _ in
                seen.append(event)
            }
            let runner = ProjectionRunner(
                store: store, projections: [projection], configuration: runnerConfiguration, logger: TestDatabase.logger
            )
            // The store sends wake-ups while it runs (here: for this scope).
            try await store.withBackgroundWork {
                try await whileRunning(runner) {
                    try await Task.sleep(for: .milliseconds(500))  // lease taken, first (empty) read done, listening
                    var tally = try await store.loadOrDefault(Tally.self, id: "n")
                    tally.record(.added(1))
                    let saved = try await store.save(&tally)
                    // Sooner than the 30 s poll: the after-commit notification woke it. (Other tests'
                    // open transactions can hold the horizon back for seconds: wait up to 25 s.)
                    do {
                        try await runner.waitUntilCaughtUp("woken", to: saved.positions[0], timeout: .seconds(25))
                    } catch {
                        let status = try await runner.status("woken")
                        let diagnosis = try await pool.withConnection { connection in
                            try await connection.query(
                                """
                                SELECT pg_snapshot_xmin(pg_current_snapshot())::text,
                                       (SELECT transaction_id::text FROM mire_events WHERE global_position = \(saved.positions[0])),
                                       (SELECT string_agg(application_name || ':' || state || ':' || coalesce(backend_xid::text, '-') || ':' || coalesce(backend_xmin::text, '-') || ':' || coalesce(now() - xact_start, '0')::text, ' | ')
                                        FROM pg_stat_activity WHERE xact_start IS NOT NULL)
                                """
                            )[0].decode((String, String, String?).self)
                        }
                        Issue.record("DIAG status=\(status) horizon=\(diagnosis) wake=\(runner.wakeDiagnostics)")
                        throw error
                    }
                }
            }
            #expect(seen.all.count == 1)
            await pool.shutdown()
        }
    }

    @Test func aBatchedHandlerGetsWholeBatchesAndEveryEventOnce() async throws {
        try await TestDatabase.withStore { store throws in
            try await store.pool.withConnection {
                try await $0.query("CREATE TABLE totals (id text PRIMARY KEY, total int8)")
            }
            let batchSizes = Locked<[Int]>([])
            // One set-based statement per batch.
            let projection = Projection.transactionalBatch("batched", of: Tally.self) { events, connection in
                batchSizes.withLock { $0.append(events.count) }
                let ids = events.map(\.stream.entityID)
                let amounts: [Int64] = events.map { if case .added(let amount) = $0.event { amount } else { 0 } }
                try await connection.query(
                    """
                    INSERT INTO totals SELECT id, sum(amount) FROM unnest(\(ids)::text[], \(amounts)::int8[]) AS t(id, amount)
                    GROUP BY id ON CONFLICT (id) DO UPDATE SET total = totals.total + EXCLUDED.total
                    """)
            }
            var configuration = testConfiguration("w")
            configuration.batchSize = 20
            let runner = ProjectionRunner(
                store: store, projections: [projection], configuration: configuration, logger: TestDatabase.logger)
            var tally = try await store.loadOrDefault(Tally.self, id: "b")
            for index in 1...100 { tally.record(.added(Int64(index))) }
            let saved = try await store.save(&tally)
            try await whileRunning(runner) {
                try await runner.waitUntilCaughtUp("batched", to: saved.positions.last!)
            }
            #expect(batchSizes.value.reduce(0, +) == 100)
            #expect(batchSizes.value.allSatisfy { $0 <= 20 })
            #expect(batchSizes.value.count < 100)
            let total = try await store.pool.withConnection {
                try await $0.query("SELECT total FROM totals WHERE id = 'b'").single(Int64.self)
            }
            #expect(total == 5050)
        }
    }

    @Test func resetRebuildsFromTheStart() async throws {
        try await TestDatabase.withStore { store throws in
            try await store.pool.withConnection { try await $0.query("CREATE TABLE counted (n int8)") }
            let projection = Projection(
                name: "rebuilt", category: "tally", delivery: .transactional,
                reset: { connection in try await connection.query("TRUNCATE counted") }
            ) { _, connection in
                try await connection.query("INSERT INTO counted VALUES (1)")
            }
            let runner = ProjectionRunner(
                store: store, projections: [projection], configuration: testConfiguration("w"),
                logger: TestDatabase.logger)
            var tally = try await store.loadOrDefault(Tally.self, id: "r")
            for _ in 0..<5 { tally.record(.added(1)) }
            let saved = try await store.save(&tally)
            try await runner.runUntilCaughtUp()
            try await runner.reset(projection)
            #expect(try await runner.status("rebuilt").cursorPosition == 0)
            try await runner.runUntilCaughtUp()
            try await runner.waitUntilCaughtUp("rebuilt", to: saved.positions.last!)
            #expect(
                try await store.pool.withConnection {
                    try await $0.query("SELECT count(*) FROM counted").single(Int64.self)
                } == 5)
        }
    }
}
