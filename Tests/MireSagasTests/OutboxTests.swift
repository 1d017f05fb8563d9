import Foundation
import MirePQ
import MireSagas
import MireTestSupport
import Testing

/// Alerts on deposits above 50, through the outbox.
struct DepositAlerter: ProcessManager {
    static let name = "alerter"
    struct Alert: Codable, Equatable { var wallet: String, amount: Int64 }

    static func processID(for event: RawRecordedEvent) throws -> String? {
        event.stream.category == Wallet.category ? event.stream.entityID : nil
    }

    func handle(_ event: RawRecordedEvent) throws -> [ProcessReaction] {
        guard case .deposited(let amount) = try event.decode(as: Wallet.self).event, amount > 50 else { return [] }
        return [try .send("big-deposit", json: Alert(wallet: event.stream.entityID, amount: amount))]
    }

    mutating func apply(_ event: RawRecordedEvent) throws {}
}

@Suite("Outbox")
struct OutboxTests {
    static func worker(
        _ store: EventStore, _ id: String, claimTTL: Duration = .seconds(60), attempts: Int = 10,
        deliver: @escaping @Sendable (OutboxDelivery) async throws -> Void
    ) -> OutboxWorker {
        var configuration = OutboxWorker.Configuration(workerID: id)
        configuration.claimTTL = claimTTL
        configuration.retry = RetryPolicy(
            maximumAttempts: attempts, baseDelay: .milliseconds(1), maximumDelay: .milliseconds(1))
        return OutboxWorker(store: store, configuration: configuration, logger: TestDatabase.logger, deliver: deliver)
    }

    @Test func aMessageIsWrittenWithItsTransactionAndDeliveredOnce() async throws {
        try await TestDatabase.withStore { store in
            try await store.transaction { tx in
                var wallet = try await tx.loadOrDefault(Wallet.self, id: "m")
                wallet.record(.deposited(amount: 5))
                try await tx.save(&wallet)
                try await tx.enqueue(OutboxMessage(topic: "t", key: "a", payload: Data(#"{"n":1}"#.utf8)))
            }
            // Rolled back: its message is not written.
            await #expect(throws: InjectedFailure.self) {
                try await store.transaction { tx in
                    try await tx.enqueue(OutboxMessage(topic: "t", key: "b", payload: Data("{}".utf8)))
                    throw InjectedFailure()
                }
            }
            // The same key again: the first message stays.
            try await store.transaction { tx in
                try await tx.enqueue(OutboxMessage(topic: "t", key: "a", payload: Data(#"{"n":2}"#.utf8)))
            }
            let received = Locked<[OutboxDelivery]>([])
            let worker = Self.worker(store, "w") { delivery in received.withLock { $0.append(delivery) } }
            #expect(try await worker.deliverDue() == 1)
            #expect(try await worker.deliverDue() == 0)
            let delivered = received.value
            #expect(delivered.map(\.message.key) == ["a"])
            #expect(delivered.first?.attempt == 1)
            #expect(delivered.first.map { String(decoding: $0.message.payload, as: UTF8.self) } == #"{"n": 1}"#)
            #expect(try await Outbox(store: store).counts() == Outbox.Counts(pending: 0, delivered: 1, dead: 0))
        }
    }

    @Test func aFailingMessageIsRetriedThenDeadAndCanBeRequeued() async throws {
        try await TestDatabase.withStore { store in
            try await store.transaction { tx in
                try await tx.enqueue(OutboxMessage(topic: "flaky", key: "f", payload: Data("{}".utf8)))
                try await tx.enqueue(OutboxMessage(topic: "refused", key: "r", payload: Data("{}".utf8)))
            }
            let receiverUp = Locked(false)
            let attempts = Locked<[String: [Int]]>([:])
            let worker = Self.worker(store, "w", attempts: 3) { delivery in
                attempts.withLock { $0[delivery.message.key, default: []].append(delivery.attempt) }
                if delivery.message.topic == "refused" { throw UndeliverableMessage(reason: "no such mailbox") }
                if !receiverUp.value { throw InjectedFailure() }
            }
            let outbox = Outbox(store: store)
            // Each pass delivers what is due; the backoff is at most 1 ms.
            for _ in 0..<500 where try await outbox.counts().dead < 2 {
                try await worker.deliverDue()
                try await Task.sleep(for: .milliseconds(2))
            }
            #expect(attempts.value["f"] == [1, 2, 3], "three attempts, then dead")
            #expect(attempts.value["r"] == [1], "undeliverable: dead at once")
            let dead = try await outbox.deadLetters()
            #expect(Set(dead.map(\.message.key)) == ["f", "r"])
            #expect(dead.first { $0.message.key == "r" }?.lastError?.contains("no such mailbox") == true)

            receiverUp.withLock { $0 = true }
            #expect(try await outbox.requeueDeadLetters() == 2)
            try await worker.deliverDue()
            #expect(try await outbox.counts() == Outbox.Counts(pending: 0, delivered: 1, dead: 1))
            #expect(attempts.value["f"] == [1, 2, 3, 1])
        }
    }

    @Test func aWorkerDeliversOnlyTheTopicsItIsGiven() async throws {
        try await TestDatabase.withStore { store in
            try await store.transaction { tx in
                for (topic, key) in [("a", "a1"), ("b", "b1"), ("a", "a2")] {
                    try await tx.enqueue(OutboxMessage(topic: topic, key: key, payload: Data("{}".utf8)))
                }
            }
            let received = Locked<[String]>([])
            var configuration = OutboxWorker.Configuration(workerID: "a-only")
            configuration.topics = ["a"]
            let worker = OutboxWorker(store: store, configuration: configuration, logger: TestDatabase.logger) {
                delivery in received.withLock { $0.append(delivery.message.key) }
            }
            #expect(try await worker.deliverDue() == 2)
            #expect(received.value == ["a1", "a2"])
            #expect(try await Outbox(store: store).counts() == Outbox.Counts(pending: 1, delivered: 2, dead: 0))
        }
    }

    @Test func aClaimThatRunsOutPassesToAnotherWorkerAndTheLateOutcomeIsIgnored() async throws {
        try await TestDatabase.withStore { store in
            try await store.transaction { tx in
                try await tx.enqueue(OutboxMessage(topic: "t", key: "slow", payload: Data("{}".utf8)))
            }
            let received = Locked<[String]>([])
            let started = Locked(false)
            let released = Locked(false)
            // The first worker takes the message and hangs (a frozen process), past its claim.
            let frozen = Self.worker(store, "frozen", claimTTL: .milliseconds(300)) { delivery in
                started.withLock { $0 = true }
                while !released.value { try await Task.sleep(for: .milliseconds(10)) }
                received.withLock { $0.append(delivery.message.key + " late") }
            }
            let other = Self.worker(store, "other") { delivery in
                received.withLock { $0.append(delivery.message.key) }
            }
            async let frozenClaimed = frozen.deliverDue()
            for _ in 0..<500 where !started.value { try await Task.sleep(for: .milliseconds(10)) }
            #expect(started.value)
            // Once the claim has run out, the other worker delivers it.
            for _ in 0..<500 where received.value.isEmpty {
                try await other.deliverDue()
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(received.value == ["slow"])
            released.withLock { $0 = true }
            #expect(try await frozenClaimed == 1)
            // Delivered twice (the receiver deduplicates by key); recorded once, by the claim
            // that held it.
            #expect(received.value == ["slow", "slow late"])
            let row = try await store.pool.withConnection { connection in
                try await connection.query(
                    "SELECT status, attempts, claim_id IS NULL FROM mire_outbox WHERE dedup_key = 'slow'"
                ).first.map { try $0.decode((String, Int32, Bool).self) }
            }
            #expect(row?.0 == "delivered" && row?.1 == 2 && row?.2 == true)
        }
    }

    @Test func aProcessManagersMessageIsWrittenOnceWithAKeyDerivedFromItsTrigger() async throws {
        try await TestDatabase.withStore { store in
            var wallet = try await store.loadOrDefault(Wallet.self, id: "big")
            wallet.record(.deposited(amount: 10))
            wallet.record(.deposited(amount: 70))
            try await store.save(&wallet)
            let trigger = try #require(try await store.readStream(wallet.id).last)
            let runner = ProcessManagerRunner(
                DepositAlerter.self, store: store, configuration: sagaConfiguration("a", for: DepositAlerter.self),
                logger: TestDatabase.logger)
            try await runner.runUntilCaughtUp()
            try await runner.runUntilCaughtUp()
            let received = Locked<[OutboxMessage]>([])
            let worker = Self.worker(store, "w") { delivery in received.withLock { $0.append(delivery.message) } }
            try await worker.deliverDue()
            let message = try #require(received.value.first)
            #expect(received.value.count == 1)
            #expect(message.topic == "big-deposit")
            let expectedKey =
                "alerter-" + UUID(name: "alerter/0/message", in: trigger.metadata.eventID).uuidString.lowercased()
            #expect(message.key == expectedKey)
            #expect(
                try JSONDecoder().decode(DepositAlerter.Alert.self, from: message.payload)
                    == .init(wallet: "big", amount: 70))
        }
    }
}
