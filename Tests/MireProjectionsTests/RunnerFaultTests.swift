import Foundation
import MireProjections
import MireTestSupport
import MireTransactions
import Testing

/// The projection runner when replies are lost, handlers fail and workers freeze.
@Suite("Projection runner under faults", .timeLimit(.minutes(3)))
struct RunnerFaultTests {
    /// A transactional projection summing every tally into `totals`.
    static func totals() -> Projection {
        Projection.transactional("totals", of: Tally.self) { recorded, connection in
            guard case .added(let amount) = recorded.event else { return }
            try await connection.query(
                """
                INSERT INTO totals VALUES (\(recorded.stream.entityID), \(amount))
                ON CONFLICT (id) DO UPDATE SET total = totals.total + EXCLUDED.total
                """)
        }
    }

    static func sum(_ store: EventStore) async throws -> Int64 {
        try await store.pool.withConnection { connection in
            try await connection.query("SELECT coalesce(sum(total), 0)::int8 FROM totals").single(Int64.self)
        }
    }

    @Test func aDeliveryWhoseCommitReplyIsLostIsAppliedOnce() async throws {
        try await TestDatabase.withProxiedStore(maximumConnections: 6) { store, proxy, direct throws in
            try await direct.pool.withConnection {
                try await $0.query("CREATE TABLE totals (id text PRIMARY KEY, total int8)")
            }
            var last: Int64 = 0
            for index in 1...20 {
                var tally = try await direct.loadOrDefault(Tally.self, id: "t\(index % 4)")
                tally.record(.added(Int64(index)))
                last = try await direct.save(&tally).positions[0]
            }
            // The first delivery commits; its reply is lost.
            proxy.arm(.dropReply, whenStatementIs: "COMMIT", alone: true)
            let runner = ProjectionRunner(
                store: store, projections: [Self.totals()], configuration: testConfiguration("w"),
                logger: TestDatabase.logger)
            try await whileRunning(runner) {
                try await runner.waitUntilCaughtUp("totals", to: last)
            }
            #expect(proxy.faultsFired == 1)
            #expect(try await Self.sum(direct) == (1...20).reduce(0, +))
        }
    }

    @Test func catchingUpOnAnEmptyLogReturns() async throws {
        try await TestDatabase.withStore { store throws in
            let runner = ProjectionRunner(
                store: store, projections: [Projection(name: "none", category: nil, delivery: .plain) { _, _ in }],
                configuration: testConfiguration("w"), logger: TestDatabase.logger)
            let finished = Locked(false)
            let task = Task {
                try await runner.runUntilCaughtUp()
                finished.withLock { $0 = true }
            }
            // Bounded wait for the positive outcome; the suite's time limit catches a hang too.
            for _ in 0..<200 where !finished.value { try await Task.sleep(for: .milliseconds(25)) }
            task.cancel()
            #expect(finished.value)
        }
    }

    @Test func aFailingEventDeepInABatchCostsOneBatchNotOnePerEventBeforeIt() async throws {
        try await TestDatabase.withStore(maximumConnections: 6) { store throws in
            let stream = try StreamID(category: "tally", id: "poison")
            try await store.append(
                (1...40).map { try NewEvent(Tally.self, .added(Int64($0))) }, to: stream, expecting: .noStream)
            let deliveries = Locked<[Int64: Int]>([:])
            let failuresLeft = Locked(3)
            let projection = Projection(name: "poison", category: "tally", delivery: .plain) { event, _ in
                if event.version == 30 {
                    let fail = failuresLeft.withLock { left -> Bool in
                        left -= 1
                        return left >= 0
                    }
                    if fail { throw Refused() }
                }
                deliveries.withLock { $0[event.version, default: 0] += 1 }
            }
            let runner = ProjectionRunner(
                store: store, projections: [projection], configuration: testConfiguration("w"),
                logger: TestDatabase.logger)
            try await runner.runUntilCaughtUp()
            let counts = deliveries.value
            #expect(counts.count == 40)
            // A plain handler is at-least-once, but an event before the failing one is not
            // handed over again for every failure.
            let extra = counts.values.reduce(0, +) - 40
            #expect(extra <= 29, "events were delivered \(extra) extra times")
        }
    }

    @Test func aWorkerFrozenInsideItsDeliveryIsFencedOutWithinTheBound() async throws {
        try await TestDatabase.withProxiedStore(maximumConnections: 6) { store, proxy, direct throws in
            try await direct.pool.withConnection {
                try await $0.query("CREATE TABLE totals (id text PRIMARY KEY, total int8)")
            }
            var tally = try await direct.loadOrDefault(Tally.self, id: "frozen")
            tally.record(.added(1))
            let first = try await direct.save(&tally).positions[0]
            var frozenConfiguration = testConfiguration("frozen", ttl: .seconds(1))
            frozenConfiguration.deliveryTimeout = .seconds(2)
            let frozen = ProjectionRunner(
                store: store, projections: [Self.totals()], configuration: frozenConfiguration,
                logger: TestDatabase.logger)
            let frozenTask = Task { try await frozen.run() }
            defer { frozenTask.cancel() }
            try await frozen.waitUntilCaughtUp("totals", to: first)
            // The worker freezes just before its next delivery's COMMIT: it sits in the delivery
            // transaction, checkpoint written, lease row share-locked, heartbeats stopped.
            proxy.arm(.freezeAll(.seconds(120)), whenStatementIs: "COMMIT", alone: true)
            tally.record(.added(2))
            let second = try await direct.save(&tally).positions[0]
            for _ in 0..<1_000 where proxy.faultsFired == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(proxy.faultsFired == 1)

            var successorConfiguration = testConfiguration("successor", ttl: .seconds(1))
            successorConfiguration.deliveryTimeout = .seconds(2)
            let successor = ProjectionRunner(
                store: direct, projections: [Self.totals()], configuration: successorConfiguration,
                logger: TestDatabase.logger)
            try await whileRunning(successor) {
                // Bound: lease TTL + delivery timeout + a lease recheck, well inside 30 s.
                try await successor.waitUntilCaughtUp("totals", to: second, timeout: .seconds(30))
            }
            #expect(try await Self.sum(direct) == 3)
            #expect(try await successor.status("totals").holder == nil)  // released on stop
        }
    }
}

struct Refused: Error {}

@Suite("Projection runner: the review's cases", .timeLimit(.minutes(2)))
struct RunnerReviewTests {
    /// Lost connections are the database's trouble, not the event's: they never count towards
    /// the poison policy, so no healthy event is skipped.
    @Test func lostConnectionsDoNotMakeAnEventPoison() async throws {
        try await TestDatabase.withProxiedStore(maximumConnections: 4) { store, proxy, direct throws in
            let stream = try StreamID(category: "tally", id: "healthy")
            try await direct.append([try NewEvent(Tally.self, .added(5))], to: stream, expecting: .noStream)
            let seen = Locked(0)
            let projection = Projection(name: "healthy", category: "tally", delivery: .plain) { _, _ in
                seen.withLock { $0 += 1 }
            }
            var configuration = testConfiguration("w")
            configuration.poisonPolicy = .skipAfter(attempts: 2)
            // The checkpoint fails twice over (its request never reaches the server), as often as
            // the poison policy allows a handler to fail.
            proxy.arm(.dropRequest, when: .requestContains("UPDATE mire_subscriptions s SET"), times: 2)
            let runner = ProjectionRunner(
                store: store, projections: [projection], configuration: configuration, logger: TestDatabase.logger)
            try await runner.runUntilCaughtUp()
            #expect(proxy.faultsFired == 2)
            let skipped = try await direct.pool.withConnection {
                try await $0.query("SELECT count(*) FROM mire_projection_skipped").single(Int64.self)
            }
            #expect(skipped == 0)
            #expect(seen.value >= 1)
        }
    }

    /// Catching up ends once the events present at the start are handled, even while writers
    /// keep the log growing.
    @Test func catchingUpReturnsUnderSteadyWrites() async throws {
        try await TestDatabase.withStore(maximumConnections: 6) { store throws in
            let stream = try StreamID(category: "tally", id: "busy")
            try await store.append([try NewEvent(Tally.self, .added(1))], to: stream, expecting: .noStream)
            let writing = Task {
                var version: Int64 = 1
                while !Task.isCancelled {
                    try await store.append(
                        [try NewEvent(Tally.self, .added(1))], to: stream, expecting: .exact(version))
                    version += 1
                }
            }
            defer { writing.cancel() }
            var configuration = testConfiguration("w")
            configuration.batchSize = 1
            let runner = ProjectionRunner(
                store: store,
                projections: [Projection(name: "busy", category: "tally", delivery: .plain) { _, _ in }],
                configuration: configuration, logger: TestDatabase.logger)
            try await runner.runUntilCaughtUp()
            #expect(try await runner.status("busy").eventsHandled >= 1)
        }
    }
}
