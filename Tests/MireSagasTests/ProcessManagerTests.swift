import Foundation
import MirePQ
import MireTestSupport
import Testing

@testable import MireSagas

@Suite("Process managers")
struct ProcessManagerTests {
    struct Order {
        var id: String
        var from: String
        var to: String
        var amount: Int64
    }

    /// Four wallets of 100 and `count` orders between neighbours, some for more than the source
    /// can have: written with `store`.
    static func openWalletsAndOrder(_ count: Int, in store: EventStore) async throws -> [Order] {
        for index in 0..<4 {
            var wallet = try await store.loadOrDefault(Wallet.self, id: "w\(index)")
            wallet.record(.deposited(amount: 100))
            try await store.save(&wallet)
        }
        var orders: [Order] = []
        for index in 0..<count {
            let order = Order(
                id: "t\(index)", from: "w\(index % 4)", to: "w\((index + 1) % 4)", amount: Int64(10 + index * 37 % 90))
            var root = try await store.loadOrDefault(TransferOrder.self, id: order.id)
            root.record(.requested(from: order.from, to: order.to, amount: order.amount))
            try await store.save(&root)
            orders.append(order)
        }
        return orders
    }

    /// Runs the saga until every order's process is done or refused.
    static func runToCompletion(_ runner: ProcessManagerRunner<TransferSaga>, orders: [Order]) async throws {
        for _ in 0..<30 {
            try await runner.runUntilCaughtUp()
            var finished = true
            for order in orders {
                let step = try await runner.state(of: order.id)?.step
                if step != .done && step != .refused { finished = false }
            }
            if finished { return }
        }
        Issue.record("the sagas did not finish")
    }

    /// Checks the outcome of `orders` in the log: money conserved, each step once, in order, with
    /// ids derived from its trigger and the trigger's correlation.
    static func checkExactlyOnce(_ orders: [Order], runner: ProcessManagerRunner<TransferSaga>, store: EventStore)
        async throws
    {
        var total: Int64 = 0
        for index in 0..<4 {
            let wallet = try #require(try await store.load(Wallet.self, id: "w\(index)"))
            total += wallet.state.total
            #expect(wallet.state.reserved.isEmpty, "w\(index) keeps a reservation open")
        }
        #expect(total == 400, "money is conserved")

        var walletEvents: [RawRecordedEvent] = []
        for index in 0..<4 { walletEvents += try await store.readStream(StreamID(category: "wallet", id: "w\(index)")) }
        for order in orders {
            let state = try #require(try await runner.state(of: order.id))
            let request = try #require(
                try await store.readStream(StreamID(category: TransferOrder.category, id: order.id)).first)
            let steps = try walletEvents.filter { try TransferSaga.processID(for: $0) == order.id }
                .sorted { $0.position < $1.position }
            let notes = try await store.readStream(StreamID(category: Note.category, id: order.id))
            switch state.step {
            case .done:
                #expect(state.handled == ["order.requested", "wallet.reserved", "wallet.credited", "wallet.confirmed"])
                #expect(steps.map(\.type) == ["wallet.reserved", "wallet.credited", "wallet.confirmed"])
                #expect(notes.count == 1, "\(order.id): the note of the credit step was written once")
            case .refused:
                #expect(state.handled == ["order.requested", "wallet.refused"])
                #expect(steps.map(\.type) == ["wallet.refused"])
                #expect(notes.isEmpty)
            default:
                Issue.record("\(order.id) ended at \(state.step)")
            }
            // Each step's id derives from the event that caused it; all share the request's
            // correlation, and each names its cause.
            var cause = request.metadata.eventID
            for step in steps {
                #expect(step.metadata.causationID == cause)
                #expect(step.metadata.correlationID == request.metadata.eventID)
                let reaction = step.type == "wallet.credited" ? 1 : 0  // the note comes first
                #expect(step.metadata.eventID == UUID(name: "transfer_saga/\(reaction)/0/0", in: cause))
                cause = step.metadata.eventID
            }
        }
    }

    @Test func aTransferSagaRunsEachReactionOnceAndConservesMoney() async throws {
        try await TestDatabase.withStore { store in
            let orders = try await Self.openWalletsAndOrder(24, in: store)
            let runner = ProcessManagerRunner(
                TransferSaga.self, store: store, configuration: sagaConfiguration("s1", for: TransferSaga.self),
                logger: TestDatabase.logger)
            try await Self.runToCompletion(runner, orders: orders)
            try await Self.checkExactlyOnce(orders, runner: runner, store: store)
            let refused = try await orders.asyncFilter { try await runner.state(of: $0.id)?.step == .refused }
            #expect(!refused.isEmpty && refused.count < orders.count, "both outcomes are exercised")
        }
    }

    @Test func fourPartitionsDeliverConcurrentlyAndStillRunEachReactionOnce() async throws {
        try await TestDatabase.withStore(maximumConnections: 8) { store in
            let orders = try await Self.openWalletsAndOrder(24, in: store)
            var configuration = sagaConfiguration("s1", for: TransferSaga.self)
            configuration.partitions = 4
            let runner = ProcessManagerRunner(
                TransferSaga.self, store: store, configuration: configuration, logger: TestDatabase.logger)
            try await Self.runToCompletion(runner, orders: orders)
            try await Self.checkExactlyOnce(orders, runner: runner, store: store)
            // Each partition has a checkpoint of its own, and the processes are spread over them
            // by a hash that is the same on every run.
            let names = try await store.pool.withConnection { connection in
                try await connection.query(
                    "SELECT name FROM mire_subscriptions WHERE name LIKE 'mire.process.transfer_saga#%' ORDER BY name"
                ).map { try $0.decode(String.self, at: 0) }
            }
            #expect(names == (0..<4).map { "mire.process.transfer_saga#\($0)/4" })
            let spread = orders.map { ProcessDelivery<TransferSaga>.partition(of: $0.id, count: 4) }
            #expect(Array(spread.prefix(8)) == [1, 2, 3, 0, 1, 2, 3, 0])  // FNV-1a, as Python computes it too
            // Another number of partitions would start over from the log's beginning: refused.
            var two = configuration
            two.partitions = 2
            let other = ProcessManagerRunner(
                TransferSaga.self, store: store, configuration: two, logger: TestDatabase.logger)
            let error = await #expect(throws: MireError.self) { try await other.runUntilCaughtUp() }
            #expect(error?.code == .invalidOperation)
        }
    }

    @Test func aReactionThatFailsHalfWayRollsBackAndRunsAgainWithTheSameIDs() async throws {
        try await TestDatabase.withStore { store in
            let orders = try await Self.openWalletsAndOrder(6, in: store)
            // The credit of t1 fails twice: its delivery rolls back after the note was written.
            TransferSaga.creditFailures.withLock { $0["t1"] = 2 }
            let runner = ProcessManagerRunner(
                TransferSaga.self, store: store, configuration: sagaConfiguration("s1", for: TransferSaga.self),
                logger: TestDatabase.logger)
            try await Self.runToCompletion(runner, orders: orders)
            #expect(TransferSaga.creditFailures.value["t1"] == 0, "the injected failures happened")
            try await Self.checkExactlyOnce(orders, runner: runner, store: store)
        }
    }

    @Test func aLostCommitReplyOfADeliveryRunsNoReactionTwice() async throws {
        try await TestDatabase.withProxiedStore { store, proxy, direct in
            let orders = try await Self.openWalletsAndOrder(8, in: direct)
            let runner = ProcessManagerRunner(
                TransferSaga.self, store: store, configuration: sagaConfiguration("s1", for: TransferSaga.self),
                logger: TestDatabase.logger)
            // The first deliveries commit, and their replies are lost.
            proxy.arm(.dropReply, whenStatementIs: "COMMIT", alone: true, times: 3)
            try await Self.runToCompletion(runner, orders: orders)
            #expect(proxy.faultsFired == 3)
            let audit = ProcessManagerRunner(
                TransferSaga.self, store: direct, configuration: sagaConfiguration("a", for: TransferSaga.self),
                logger: TestDatabase.logger)
            try await Self.checkExactlyOnce(orders, runner: audit, store: direct)
        }
    }

    @Test func aDeadlineFiresOnceWhenDueAndACancelledOneNever() async throws {
        try await TestDatabase.withStore { store in
            var order = try await store.loadOrDefault(TransferOrder.self, id: "d1")
            order.record(.requested(from: "w0", to: "w1", amount: 1))
            try await store.save(&order)
            let request = try #require(try await store.readStream(order.id).first)
            let configuration = sagaConfiguration("r1", for: Reminder.self)
            let runner = ProcessManagerRunner(
                Reminder.self, store: store, configuration: configuration, logger: TestDatabase.logger)
            try await runner.runUntilCaughtUp()

            // Two deadlines, one cancelled by the same reaction; neither due for an hour, so
            // nothing fires.
            let scheduled = try await store.pool.withConnection { connection in
                try await connection.query(
                    """
                    SELECT name, fired_at IS NULL, cancelled_at IS NOT NULL FROM mire_process_deadlines
                    WHERE process_manager = 'reminder' ORDER BY name
                    """
                ).map { try $0.decode((String, Bool, Bool).self) }
            }
            #expect(scheduled.map(\.0) == ["remind", "withdrawn"])
            #expect(scheduled.map(\.1) == [true, true] && scheduled.map(\.2) == [false, true])
            #expect(try await runner.fireDueDeadlines() == 0)

            // Make both due. While another worker holds the live one (in the middle of firing
            // it), this one skips it instead of waiting or firing it too.
            try await store.pool.withConnection { connection in
                try await connection.query("UPDATE mire_process_deadlines SET due_at = now() - interval '1 second'")
            }
            try await store.pool.withTransaction { connection in
                try await connection.query("SELECT FROM mire_process_deadlines WHERE name = 'remind' FOR UPDATE")
                #expect(try await runner.fireDueDeadlines() == 0)
            }
            // Then it fires, once; the cancelled one never.
            #expect(try await runner.fireDueDeadlines() == 1)
            #expect(try await runner.fireDueDeadlines() == 0)

            // Delivered to the process as an event whose id is the deadline's, once.
            try await runner.runUntilCaughtUp()
            try await runner.runUntilCaughtUp()
            #expect(try await runner.state(of: "d1")?.reminded == 1)
            let delivered = try await store.readStream(StreamID(category: "mire.process.reminder", id: "d1"))
            #expect(delivered.map(\.type) == [ProcessDeadline.eventType])
            #expect(delivered.first?.deadline == ProcessDeadline(name: "remind"))
            #expect(delivered.first?.metadata.causationID == request.metadata.eventID)
            #expect(delivered.first?.metadata.correlationID == request.metadata.eventID)
            let notes = try await store.readStream(StreamID(category: Note.category, id: "d1"))
            #expect(notes.count == 1)
            #expect(try notes.first?.decode(as: Note.self).event == .written("remind for d1"))
            #expect(notes.first?.metadata.causationID == delivered.first?.metadata.eventID)
        }
    }

    @Test func aDeadlineCancelledAfterItFiredIsDroppedOnArrival() async throws {
        try await TestDatabase.withStore { store in
            var order = try await store.loadOrDefault(TransferOrder.self, id: "d2")
            order.record(.requested(from: "w0", to: "w1", amount: 1))
            try await store.save(&order)
            let runner = ProcessManagerRunner(
                Reminder.self, store: store, configuration: sagaConfiguration("r1", for: Reminder.self),
                logger: TestDatabase.logger)
            try await runner.runUntilCaughtUp()
            // The order is cancelled, and the reminder fires before the process manager has
            // handled the cancellation (the poller raced it).
            order.record(.cancelled)
            try await store.save(&order)
            try await store.pool.withConnection { connection in
                try await connection.query("UPDATE mire_process_deadlines SET due_at = now() - interval '1 second'")
            }
            #expect(try await runner.fireDueDeadlines() == 1)
            try await runner.runUntilCaughtUp()
            try await runner.runUntilCaughtUp()
            // The deadline event is in the log, but the process, having cancelled it, never
            // receives it.
            let fired = try await store.readStream(StreamID(category: "mire.process.reminder", id: "d2"))
            #expect(fired.map(\.type) == [ProcessDeadline.eventType])
            #expect(try await runner.state(of: "d2")?.reminded == 0)
            #expect(try await store.readStream(StreamID(category: Note.category, id: "d2")).isEmpty)
        }
    }

    @Test func twoWaitingEventsOfOneProcessAreHandledInLogOrderOneStepEach() async throws {
        try await TestDatabase.withStore { store in
            var order = try await store.loadOrDefault(TransferOrder.self, id: "c1")
            order.record(.requested(from: "nobody", to: "w1", amount: 1))
            try await store.save(&order)
            var other = try await store.loadOrDefault(Wallet.self, id: "elsewhere")
            other.record(.refused(transfer: "c1"))
            try await store.save(&other)
            var configuration = sagaConfiguration("s1", for: TransferSaga.self)
            configuration.delivery.batchSize = 50
            let runner = ProcessManagerRunner(
                TransferSaga.self, store: store, configuration: configuration, logger: TestDatabase.logger)
            // Both are read at once; each is a step of its own, the second handled in the
            // state the first left.
            try await runner.runUntilCaughtUp()
            let state = try #require(try await runner.state(of: "c1"))
            #expect(Array(state.handled.prefix(2)) == ["order.requested", "wallet.refused"])
        }
    }
}

extension Array {
    fileprivate func asyncFilter(_ include: (Element) async throws -> Bool) async rethrows -> [Element] {
        var kept: [Element] = []
        for element in self where try await include(element) { kept.append(element) }
        return kept
    }
}
