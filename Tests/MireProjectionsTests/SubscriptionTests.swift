import Foundation
import MirePQ
import MireTestSupport
import MireTransactions
import Testing

@testable import MirePostgres
@testable import MireProjections

@Suite("Subscriptions", .timeLimit(.minutes(3)))
struct SubscriptionTests {
    /// Waits until `condition` holds, checking every 10 ms; fails after `timeout`.
    private func eventually(
        _ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    private func add(_ amount: Int64) throws -> NewEvent { try NewEvent(Tally.self, .added(amount)) }

    @Test func catchesUpThenDeliversLiveCommitsInStreamOrder() async throws {
        try await TestDatabase.withStore(maximumConnections: 3) { store throws in
            let streams = try ["a", "b"].map { try StreamID(category: "tally", id: $0) }
            for stream in streams {
                try await store.append([try add(1), try add(2)], to: stream, expecting: .noStream)
            }
            let seen = Seen()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await delivery in store.subscribe() {
                        seen.append(delivery.event)
                        if seen.all.count == 8 { return }
                    }
                }
                try await eventually("the four stored events") { seen.all.count == 4 }
                // Live: committed after the subscription caught up.
                for stream in streams {
                    try await store.append([try add(3), try add(4)], to: stream, expecting: .exact(2))
                }
                try await group.waitForAll()
            }
            let log = try await store.readAll()
            #expect(checkDelivery(seen.all, against: log).isEmpty, "\(checkDelivery(seen.all, against: log))")
        }
    }

    @Test func deliversOnlyTheCategoryAndTypesAskedFor() async throws {
        try await TestDatabase.withStore(maximumConnections: 3) { store throws in
            let tally = try StreamID(category: "tally", id: "t")
            let other = try StreamID(category: "other", id: "o")
            let noted = NewEvent(type: "tally.noted", payload: Data(#"{"text":"x"}"#.utf8))
            try await store.append([try add(1), noted], to: tally, expecting: .noStream)
            try await store.append(
                [NewEvent(type: "tally.added", payload: Data("{}".utf8))], to: other, expecting: .noStream)
            try await store.append([try add(2)], to: tally, expecting: .exact(2))
            let configuration = EventSubscription.Configuration(category: "tally", eventTypes: ["tally.added"])
            var delivered: [RawRecordedEvent] = []
            for try await delivery in store.subscribe(configuration) {
                delivered.append(delivery.event)
                if delivery.event.version == 3 { break }  // the last one written
            }
            #expect(delivered.map(\.version) == [1, 3])
            #expect(delivered.allSatisfy { $0.stream == tally && $0.type == "tally.added" })
        }
    }

    /// Writers commit out of order, roll back at random and hold transactions open while a
    /// subscription reads: every committed event arrives once, each stream in version order.
    @Test func gapTortureDeliversEveryCommittedEventOnceInStreamOrder() async throws {
        try await TestDatabase.withStore(maximumConnections: 10) { store throws in
            let seen = Seen()
            let sentinel = try StreamID(category: "tally", id: "sentinel")
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    var configuration = EventSubscription.Configuration(batchSize: 7)
                    configuration.pollInterval = .milliseconds(50)
                    for try await delivery in store.subscribe(configuration) {
                        seen.append(delivery.event)
                        if delivery.event.stream == sentinel { return }
                    }
                }
                try await writeWithOutOfOrderCommitsAndRollbacks(to: store)
                // Written after every writer finished: it comes last.
                try await store.append([try add(0)], to: sentinel, expecting: .noStream)
                try await group.waitForAll()
            }
            let log = try await store.readAll(limit: 10_000)
            let problems = checkDelivery(seen.all, against: log)
            #expect(problems.isEmpty, "\(problems)")
        }
    }

    @Test func aSubscriptionHoldsAtMostOneBatch() async throws {
        try await TestDatabase.withStore(maximumConnections: 3) { store throws in
            let stream = try StreamID(category: "tally", id: "many")
            try await store.append(try (0..<50).map { _ in try add(1) }, to: stream, expecting: .noStream)
            var iterator = store.subscribe(EventSubscription.Configuration(batchSize: 3)).makeAsyncIterator()
            var versions: [Int64] = []
            for _ in 0..<50 {
                guard let delivery = try await iterator.next() else { break }
                versions.append(delivery.event.version)
                #expect(iterator.pending.count <= 3)
            }
            #expect(versions == Array(1...50))
        }
    }

    @Test func theListeningConnectionClosesWhenTheIterationEnds() async throws {
        let channel = "mire_subscription_\(UInt32.random(in: 0...UInt32.max))"
        let storeConfiguration = EventStore.Configuration(wakeUpChannel: channel)
        try await TestDatabase.withStore(maximumConnections: 4, configuration: storeConfiguration) { store throws in
            let stream = try StreamID(category: "tally", id: "one")
            try await store.append([try add(1)], to: stream, expecting: .noStream)
            let listening: PGQuery =
                "SELECT count(*)::int8 FROM pg_stat_activity WHERE query = \("LISTEN \"\(channel)\"")"
            func listeners() async throws -> Int64 {
                try await store.pool.withConnection { try await $0.query(listening).single(Int64.self) }
            }
            do {
                for try await delivery in store.subscribe() {
                    #expect(delivery.event.stream == stream)
                    #expect(try await listeners() == 1)
                    break
                }
            }
            try await eventually("the listening backend to end") { try await listeners() == 0 }
        }
    }

    @Test func cancellingTheConsumerWhileItWaitsEndsTheSequence() async throws {
        try await TestDatabase.withStore(maximumConnections: 3) { store throws in
            let stream = try StreamID(category: "tally", id: "wait")
            try await store.append([try add(1), try add(2)], to: stream, expecting: .noStream)
            let received = Locked(0)
            let consumer = Task {
                let subscription = store.subscribe(EventSubscription.Configuration(pollInterval: .milliseconds(50)))
                for try await _ in subscription { received.withLock { $0 += 1 } }
                return received.value
            }
            // Both events taken: the consumer is now inside next(), waiting for more.
            try await eventually("both events") { received.value == 2 }
            consumer.cancel()
            #expect(try await consumer.value == 2)  // ended, without an error
        }
    }
}

@Suite("Durable subscriptions", .timeLimit(.minutes(3)))
struct DurableSubscriptionTests {
    private func add(_ amount: Int64) throws -> NewEvent { try NewEvent(Tally.self, .added(amount)) }

    /// Five events in one stream, versions 1…5.
    private func fiveEvents(in store: EventStore) async throws {
        let stream = try StreamID(category: "tally", id: "five")
        try await store.append(try (1...5).map { try add($0) }, to: stream, expecting: .noStream)
    }

    private func quick(ttl: Duration = .seconds(30)) -> DurableSubscription.Configuration {
        DurableSubscription.Configuration(
            events: EventSubscription.Configuration(pollInterval: .milliseconds(50)), leaseTTL: ttl,
            leaseRecheckInterval: .milliseconds(50))
    }

    @Test func aNewIterationResumesAfterTheLastAcknowledgedEvent() async throws {
        try await TestDatabase.withStore(maximumConnections: 3) { store throws in
            try await fiveEvents(in: store)
            var first: [Int64] = []
            for try await delivery in store.durableSubscription("resume", workerID: "w", quick()) {
                first.append(delivery.event.version)
                if delivery.event.version == 2 { try await delivery.acknowledge() }
                if delivery.event.version == 4 { break }  // 3 and 4 delivered, never acknowledged
            }
            var second: [Int64] = []
            for try await delivery in store.durableSubscription("resume", workerID: "w", quick()) {
                second.append(delivery.event.version)
                try await delivery.acknowledge()
                if delivery.event.version == 5 { break }
            }
            #expect(first == [1, 2, 3, 4])
            #expect(second == [3, 4, 5])  // at least once: the unacknowledged ones again
            let status = try await ProjectionLeases(pool: store.pool).status("resume")
            #expect(status.eventsHandled == 5)
        }
    }

    @Test func anEarlierAcknowledgementAfterALaterOneChangesNothing() async throws {
        try await TestDatabase.withStore(maximumConnections: 3) { store throws in
            try await fiveEvents(in: store)
            var deliveries: [DurableSubscription.Delivery] = []
            for try await delivery in store.durableSubscription("order", workerID: "w", quick()) {
                deliveries.append(delivery)
                if deliveries.count == 3 { break }
            }
            try await deliveries[2].acknowledge()
            try await deliveries[0].acknowledge()
            var next: Int64?
            for try await delivery in store.durableSubscription("order", workerID: "w", quick()) {
                next = delivery.event.version
                break
            }
            #expect(next == 4)
        }
    }

    /// An acknowledgement whose reply was lost (it was stored: the next one finds the checkpoint
    /// moved, recognises it and stores its own after it), or that never arrived (the next one
    /// stores its own from where the stored checkpoint stands). The subscription's name travels
    /// in the statement's bound parameters, where the proxy finds it.
    @Test(arguments: [(FaultProxy.Action.dropReply, Int64(1)), (.dropRequest, 0)])
    func anAcknowledgementLostOnTheWayIsSettledByTheNextOne(fault: FaultProxy.Action, storedByIt: Int64)
        async throws
    {
        try await TestDatabase.withProxiedStore(maximumConnections: 3) { store, proxy, direct throws in
            try await fiveEvents(in: direct)
            let name = "ack-lost-\(storedByIt)"
            let leases = ProjectionLeases(pool: direct.pool)
            var iterator = store.durableSubscription(name, workerID: "w", quick()).makeAsyncIterator()
            let first = try #require(try await iterator.next())
            proxy.arm(fault, whenRequestContains: name)
            await #expect(throws: (any Error).self) { try await first.acknowledge() }
            #expect(proxy.faultsFired == 1)
            #expect(try await leases.status(name).eventsHandled == storedByIt)
            let second = try #require(try await iterator.next())
            #expect(second.event.version == 2)
            try await second.acknowledge()
            let status = try await leases.status(name)
            #expect(status.eventsHandled == 2)
            #expect(status.cursorPosition == second.checkpoint.cursor.position)
        }
    }

    @Test func oneReplicaConsumesAndAStaleOneIsFencedWhenItAcknowledges() async throws {
        try await TestDatabase.withStore(maximumConnections: 4) { store throws in
            try await fiveEvents(in: store)
            let ttl = Duration.seconds(4)
            let leases = ProjectionLeases(pool: store.pool)
            var stale = store.durableSubscription("fenced", workerID: "a", quick(ttl: ttl)).makeAsyncIterator()
            let held = try #require(try await stale.next())
            #expect(held.event.version == 1)
            // While "a" holds the lease, no other replica can take it.
            #expect(try await leases.acquire("fenced", workerID: "c", ttl: ttl) == nil)
            #expect(try await leases.status("fenced").holder == "a")
            // "b" waits in next() until "a", which stopped renewing, lets the lease run out.
            var takeover = store.durableSubscription("fenced", workerID: "b", quick(ttl: ttl)).makeAsyncIterator()
            let first = try #require(try await takeover.next())
            #expect(try await leases.status("fenced").holder == "b")
            #expect(first.event.version == 1)  // "a" never acknowledged: delivered again
            let error = await #expect(throws: MireError.self) { try await held.acknowledge() }
            #expect(error?.code == .fenced)
            try await first.acknowledge()
            #expect(try await takeover.next()?.event.version == 2)
        }
    }

    @Test func theLeaseIsKeptWhileWaitingForEvents() async throws {
        try await TestDatabase.withStore(maximumConnections: 4) { store throws in
            let stream = try StreamID(category: "tally", id: "waiting")
            let leases = ProjectionLeases(pool: store.pool)
            let ttl = Duration.seconds(2)
            let acknowledged = Locked<[Int64]>([])
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await delivery in store.durableSubscription("waiting", workerID: "a", quick(ttl: ttl)) {
                        try await delivery.acknowledge()  // never fenced: the lease stays "a"'s
                        acknowledged.withLock { $0.append(delivery.event.version) }
                        if delivery.event.version == 3 { return }
                    }
                }
                // Three events, each after a pause longer than the lease: "a" waits between them.
                for version in Int64(1)...3 {
                    try await Task.sleep(for: .milliseconds(2_500))
                    #expect(try await leases.acquire("waiting", workerID: "c", ttl: ttl) == nil)
                    try await store.append([try add(version)], to: stream, expecting: .exact(version - 1))
                }
                try await group.waitForAll()
            }
            #expect(acknowledged.value == [1, 2, 3])
            #expect(try await leases.status("waiting").holder == "a")
        }
    }

    @Test func theLeaseIsKeptWhileABatchIsConsumedSlowly() async throws {
        try await TestDatabase.withStore(maximumConnections: 4) { store throws in
            try await fiveEvents(in: store)
            let leases = ProjectionLeases(pool: store.pool)
            let ttl = Duration.seconds(2)
            // One batch of five, handled at a third of the lease each: more than twice the lease
            // in all, with no read in between.
            for try await delivery in store.durableSubscription("slow", workerID: "a", quick(ttl: ttl)) {
                try await Task.sleep(for: ttl / 3)
                try await delivery.acknowledge()  // never fenced
                #expect(try await leases.acquire("slow", workerID: "c", ttl: ttl) == nil)
                if delivery.event.version == 5 { break }
            }
            #expect(try await leases.status("slow").eventsHandled == 5)
        }
    }
}
