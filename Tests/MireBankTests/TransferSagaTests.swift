import Foundation
import MirePQ
import MireSagas
import MireTestSupport
import Testing

@testable import MireBankDomain

@Suite("The bank's transfer saga and outbox", .timeLimit(.minutes(3)))
struct TransferSagaTests {
    static func runner(_ bank: Bank, _ worker: String = "saga") -> ProcessManagerRunner<TransferSaga> {
        var configuration = ProcessManagerRunner<TransferSaga>.Configuration(workerID: worker)
        configuration.delivery.wakeUpChannel = nil
        configuration.delivery.pollInterval = .milliseconds(50)
        configuration.delivery.initialBackoff = .milliseconds(10)
        return ProcessManagerRunner(store: bank.store, configuration: configuration, logger: TestDatabase.logger)
    }

    /// Runs the saga until `transfers` have all completed or failed.
    static func settle(_ transfers: [String], bank: Bank, runner: ProcessManagerRunner<TransferSaga>) async throws {
        for _ in 0..<40 {
            try await runner.runUntilCaughtUp()
            var settled = true
            for id in transfers {
                let status = try await bank.transferOrder(id)?.state.status
                if status != .completed && status != .failed { settled = false }
            }
            if settled { return }
        }
        Issue.record("the transfers did not settle")
    }

    /// A bank with alice's account holding `alice`, and the closed account `closed`.
    static func aliceAndAClosedAccount(_ closed: String, alice: Money, store: EventStore) async throws -> Bank {
        let bank = Bank(pool: store.pool, logger: TestDatabase.logger)
        try await bank.open("alice", owner: "Alice")
        try await bank.deposit(alice, into: "alice")
        try await bank.open(closed, owner: "Carl")
        try await bank.close(closed)
        return bank
    }

    /// The messages one outbox pass delivers.
    static func deliverOutbox(_ store: EventStore) async throws -> [OutboxMessage] {
        let sent = Locked<[OutboxMessage]>([])
        let worker = OutboxWorker(store: store, configuration: .init(workerID: "o"), logger: TestDatabase.logger) {
            delivery in sent.withLock { $0.append(delivery.message) }
        }
        try await worker.deliverDue()
        return sent.value
    }

    /// Makes every pending deadline due now.
    static func bringDeadlinesForward(_ store: EventStore) async throws {
        try await store.pool.withConnection { connection in
            try await connection.query("UPDATE mire_process_deadlines SET due_at = now() - interval '1 second'")
        }
    }

    @Test func aTransferCompletesInStepsAndSendsOneReceipt() async throws {
        try await TestDatabase.withStore { store in
            let bank = Bank(pool: store.pool, logger: TestDatabase.logger)
            try await bank.open("alice", owner: "Alice")
            try await bank.deposit(Money(cents: 100_00), into: "alice")
            try await bank.open("bob", owner: "Bob")
            try await bank.requestTransfer("t1", Money(cents: 30_00), from: "alice", to: "bob")
            await #expect(throws: BankError.transferExists("t1")) {
                try await bank.requestTransfer("t1", Money(cents: 1_00), from: "alice", to: "bob")
            }
            let runner = Self.runner(bank)
            try await Self.settle(["t1"], bank: bank, runner: runner)
            #expect(try await bank.transferOrder("t1")?.state.status == .completed)
            #expect(try await bank.account("alice").state.balance == 70_00)
            #expect(try await bank.account("bob").state.balance == 30_00)
            #expect(try await bank.account("alice").state.reserved == 0, "the reservation was confirmed")

            // The receipt: a deadline after completion, fired once, sent through the outbox once.
            for _ in 0..<10 where try await bank.transferOrder("t1")?.state.receipts == 0 {
                try await runner.runUntilCaughtUp()  // the completion schedules the receipt
                try await Self.bringDeadlinesForward(store)
            }
            try await runner.runUntilCaughtUp()
            try await runner.runUntilCaughtUp()
            #expect(try await bank.transferOrder("t1")?.state.receipts == 1)
            #expect(try await runner.state(of: "t1")?.receiptSent == true)
            let sent = try await Self.deliverOutbox(store)
            #expect(sent.map(\.key) == ["receipt-t1"])
            let receipt = try JSONDecoder().decode(
                TransferSaga.Receipt.self, from: try #require(sent.first).payload)
            #expect(receipt == TransferSaga.Receipt(transfer: "t1", from: "alice", to: "bob", cents: 30_00))
        }
    }

    @Test func aTransferThatCannotBePaidOrReceivedFailsAndReturnsTheMoney() async throws {
        try await TestDatabase.withStore { store in
            let bank = try await Self.aliceAndAClosedAccount("closed", alice: Money(cents: 100_00), store: store)
            try await bank.requestTransfer("too-much", Money(cents: 500_00), from: "alice", to: "closed")
            try await bank.requestTransfer("to-closed", Money(cents: 40_00), from: "alice", to: "closed")
            try await bank.requestTransfer("to-nobody", Money(cents: 10_00), from: "alice", to: "nobody")
            try await bank.requestTransfer("from-nobody", Money(cents: 10_00), from: "ghost", to: "alice")
            let transfers = ["too-much", "to-closed", "to-nobody", "from-nobody"]
            try await Self.settle(transfers, bank: bank, runner: Self.runner(bank))
            for id in transfers {
                #expect(try await bank.transferOrder(id)?.state.status == .failed, "\(id)")
            }
            #expect(try await bank.transferOrder("too-much")?.state.failure?.contains("balance") == true)
            #expect(try await bank.transferOrder("to-closed")?.state.failure?.contains("returned") == true)
            // Every reservation was returned, once; no account was made up.
            #expect(try await bank.account("alice").state.balance == 100_00)
            let aliceEvents = try await store.readStream(StreamID(category: "account", id: "alice"))
            #expect(aliceEvents.filter { $0.type == "account.reserved" }.count == 2)
            #expect(aliceEvents.filter { $0.type == "account.reservationReleased" }.count == 2)
            #expect(try await store.load(Account.self, id: "ghost") == nil)
            #expect(try await store.load(Account.self, id: "nobody") == nil)
        }
    }

    @Test func anAccountCannotCloseWhileMoneyIsReservedForATransfer() async throws {
        try await TestDatabase.withStore { store in
            let bank = try await Self.aliceAndAClosedAccount("shut", alice: Money(cents: 40_00), store: store)
            try await bank.requestTransfer("t", Money(cents: 40_00), from: "alice", to: "shut")
            let runner = Self.runner(bank)
            try await runner.runUntilCaughtUp()  // the reservation: alice's balance is 0, 40.00 reserved
            let alice = try await bank.account("alice").state
            #expect(alice.balance == 0 && alice.reserved == 40_00)
            await #expect(throws: BankError.reservationsPending(account: "alice", amount: Money(cents: 40_00))) {
                try await bank.close("alice")
            }
            try await Self.settle(["t"], bank: bank, runner: runner)
            let returned = try await bank.account("alice").state
            #expect(returned.balance == 40_00 && returned.reserved == 0 && returned.isOpen)
        }
    }

    @Test func aLargeWithdrawalWritesAnAlertWithItAndASmallOneDoesNot() async throws {
        try await TestDatabase.withStore { store in
            let bank = Bank(pool: store.pool, logger: TestDatabase.logger)
            try await bank.open("alice", owner: "Alice")
            try await bank.deposit(Money(cents: 5_000_00), into: "alice")
            try await bank.withdraw(Money(cents: 10_00), from: "alice")
            let large = try await bank.withdraw(Bank.largeWithdrawal, from: "alice").root
            await #expect(throws: BankError.self) { try await bank.withdraw(Money(cents: 9_000_00), from: "alice") }
            let withdrawal = try #require(try await store.readStream(large.id).last)
            let sent = try await Self.deliverOutbox(store)
            #expect(sent.map(\.key) == ["withdrawal-\(withdrawal.metadata.eventID)"])
            let alert = try JSONDecoder().decode(
                Bank.LargeWithdrawal.self, from: try #require(sent.first).payload)
            #expect(alert == Bank.LargeWithdrawal(account: "alice", cents: Bank.largeWithdrawal.cents, version: 4))
        }
    }
}
