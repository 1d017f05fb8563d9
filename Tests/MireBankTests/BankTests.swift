import MireTestSupport
import MireTransactions
import Testing

@testable import MireBankCLI
@testable import MireBankDomain

@Suite("The bank's patterns", .timeLimit(.minutes(3)))
struct BankTests {
    @Test func moneyIsParsedExactly() throws {
        #expect(Money(argument: "12.5")?.cents == 1250)
        #expect(Money(argument: "12.05")?.cents == 1205)
        #expect(Money(argument: "7")?.cents == 700)
        #expect(Money(cents: 1205).description == "12.05")
        #expect(Money(cents: -5).description == "-0.05")
        for invalid in [
            "", "-1", "1.234", "1,5", "abc", "1.", ".5", "+3", "92233720368547758.08", "92233720368547759", "-0.50",
            "-0", "\u{663}", "1.\u{663}",
        ] {
            #expect(Money(argument: invalid) == nil, "\(invalid) should be refused")
        }
        #expect(Money(argument: "92233720368547758.07")?.cents == .max)
        #expect(throws: (any Error).self) { try Money.parse("0") }
        #expect(try Money.parse("0.01").cents == 1)
    }

    @Test func aBalanceNeverOverflowsCommandsRefuseAndRecordNothing() async throws {
        try await TestDatabase.withStore { store throws in
            let bank = Bank(pool: store.pool, logger: TestDatabase.logger)
            try await bank.open("rich", owner: "Ann")
            try await bank.deposit(Money(cents: .max), into: "rich")
            await #expect(throws: BankError.balanceOutOfRange(balance: Money(cents: .max), change: Money(cents: 1))) {
                try await bank.deposit(Money(cents: 1), into: "rich")
            }
            try await bank.open("poor", owner: "Bob")
            try await bank.deposit(Money(cents: 1), into: "poor")
            await #expect(throws: BankError.balanceOutOfRange(balance: Money(cents: .max), change: Money(cents: 1))) {
                try await bank.transfer(Money(cents: 1), from: "poor", to: "rich")
            }
            // Nothing was recorded by the refused commands.
            #expect(try await bank.account("rich").version == 2)
            #expect(try await bank.account("poor").state.balance == 1)
        }
    }

    @Test func aStoredEventThatWouldOverflowFailsTheLoadTypedNotWithATrap() async throws {
        try await TestDatabase.withStore { store throws in
            // Written by another tool: two deposits whose sum no Int64 holds, and a negative one.
            let stream = try StreamID(category: "account", id: "forged")
            let result = try await store.append(
                [
                    try NewEvent(Account.self, .opened(owner: "Eve")),
                    try NewEvent(Account.self, .deposited(amount: .max)),
                    try NewEvent(Account.self, .deposited(amount: 1)),
                ], to: stream, expecting: .noStream)
            let error = await #expect(throws: MireError.self) { try await store.load(Account.self, id: "forged") }
            #expect(error?.code == .eventRefused)
            #expect(error?.stream == "account-forged")
            #expect(error?.version == 3)
            #expect(error?.position == result.positions[2])
            #expect(
                error?.underlying as? BankError
                    == .balanceOutOfRange(balance: Money(cents: .max), change: Money(cents: 1)))

            let negative = try StreamID(category: "account", id: "negative")
            try await store.append(
                [
                    try NewEvent(Account.self, .opened(owner: "Eve")),
                    try NewEvent(Account.self, .withdrawn(amount: -5)),
                ],
                to: negative, expecting: .noStream)
            let refused = await #expect(throws: MireError.self) { try await store.load(Account.self, id: "negative") }
            #expect(refused?.code == .eventRefused)
            #expect(refused?.version == 2)
        }
    }

    @Test func lifecycleReplaysFromTheLog() async throws {
        try await TestDatabase.withStore { store throws in
            let bank = Bank(pool: store.pool, logger: TestDatabase.logger)
            try await bank.open("a", owner: "Ann")
            try await bank.deposit(Money(cents: 100_00), into: "a")
            try await bank.withdraw(Money(cents: 30_00), from: "a")
            let account = try await bank.account("a")
            #expect(account.state.balance == 70_00)
            #expect(account.version == 3)
            #expect(BalanceReport(account).balance == "70.00")
        }
    }

    @Test func invalidCommandsAreRefusedAndRecordNothing() async throws {
        try await TestDatabase.withStore { store throws in
            let bank = Bank(pool: store.pool, logger: TestDatabase.logger)
            await #expect(throws: BankError.notFound(account: "ghost")) {
                try await bank.deposit(Money(cents: 1), into: "ghost")
            }
            #expect(try await store.load(Account.self, id: "ghost") == nil)

            try await bank.open("b", owner: "Bea")
            try await bank.deposit(Money(cents: 10_00), into: "b")
            await #expect(
                throws: BankError.insufficientFunds(
                    account: "b", balance: Money(cents: 10_00), requested: Money(cents: 10_01))
            ) {
                try await bank.withdraw(Money(cents: 10_01), from: "b")
            }
            await #expect(throws: BankError.balanceNotZero(account: "b", balance: Money(cents: 10_00))) {
                try await bank.close("b")
            }
            await #expect(throws: BankError.alreadyExists(account: "b")) { try await bank.open("b", owner: "Again") }
            await #expect(throws: BankError.invalidAmount(Money(cents: 0))) {
                try await bank.deposit(Money(cents: 0), into: "b")
            }
            #expect(try await bank.account("b").version == 2)

            try await bank.withdraw(Money(cents: 10_00), from: "b")
            try await bank.close("b")
            await #expect(throws: BankError.closed(account: "b")) { try await bank.deposit(Money(cents: 1), into: "b") }
            #expect(try await bank.account("b").version == 4)
            #expect(BankError.closed(account: "b").description.contains("closed"))
        }
    }

    @Test func theRaceLosesNothing() async throws {
        try await TestDatabase.withStore(maximumConnections: 4) { store throws in
            let report = try await Race.race(
                bank: Bank(pool: store.pool, logger: TestDatabase.logger), account: nil, writers: 4, deposits: 10)
            #expect(report.correct)
            #expect(report.finalBalance == "40.00")
            #expect(report.finalVersion == 41)
        }
    }

    @Test func batchedIngestWritesEveryEvent() async throws {
        try await TestDatabase.withStore { store throws in
            let report = try await Ingest.ingest(
                bank: Bank(pool: store.pool, logger: TestDatabase.logger), events: 120, batch: 50, progress: nil)
            #expect(report.events == 120)
            let accounts = try await store.readCategory("account", limit: 10_000)
            // Two accounts: each opened (1 event) then given 120 deposits.
            #expect(accounts.count == 2 * 121)
        }
    }

    @Test func aTransferMovesMoneyAtomicallyOrNotAtAll() async throws {
        try await TestDatabase.withStore { store throws in
            let bank = Bank(pool: store.pool, logger: TestDatabase.logger)
            try await bank.open("from", owner: "F")
            try await bank.open("to", owner: "T")
            try await bank.deposit(Money(cents: 50_00), into: "from")
            try await bank.transfer(Money(cents: 20_00), from: "from", to: "to")
            #expect(try await bank.account("from").state.balance == 30_00)
            #expect(try await bank.account("to").state.balance == 20_00)

            await #expect(
                throws: BankError.insufficientFunds(
                    account: "from", balance: Money(cents: 30_00), requested: Money(cents: 31_00))
            ) {
                try await bank.transfer(Money(cents: 31_00), from: "from", to: "to")
            }
            await #expect(throws: BankError.notFound(account: "ghost")) {
                try await bank.transfer(Money(cents: 1), from: "from", to: "ghost")
            }
            await #expect(throws: BankError.sameAccount("from")) {
                try await bank.transfer(Money(cents: 1), from: "from", to: "from")
            }
            // Nothing of the refused transfers reached the log.
            #expect(try await bank.account("from").version == 3)
            #expect(try await bank.account("to").version == 2)
        }
    }

    @Test func aTransferStormConservesMoney() async throws {
        try await TestDatabase.withStore(maximumConnections: 6) { store throws in
            let report = try await TransferStorm.storm(
                bank: Bank(pool: store.pool, logger: TestDatabase.logger), accounts: 5, transfers: 150, concurrency: 6)
            #expect(report.correct)
            #expect(report.historiesConsistent)
            #expect(report.totalAfter == report.totalBefore)
            #expect(report.transfersDone + report.transfersRefused == 150)
        }
    }

    @Test func oppositeTransfersDoNotDeadlock() async throws {
        try await TestDatabase.withStore(maximumConnections: 8) { store throws in
            let bank = Bank(pool: store.pool, logger: TestDatabase.logger)
            try await bank.open("x", owner: "X")
            try await bank.open("y", owner: "Y")
            try await bank.deposit(Money(cents: 1000_00), into: "x")
            try await bank.deposit(Money(cents: 1000_00), into: "y")
            // No retries: a deadlock would surface as an error.
            let noRetry = TransactionOptions(lockTimeout: .seconds(10))
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        let (from, to) = index.isMultiple(of: 2) ? ("x", "y") : ("y", "x")
                        try await bank.transfer(Money(cents: 1_00), from: from, to: to, options: noRetry)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await bank.account("x").state.balance == 1000_00)
            #expect(try await bank.account("y").state.balance == 1000_00)
        }
    }

    @Test func longAccountsLoadThroughSnapshots() async throws {
        try await TestDatabase.withStore { store throws in
            let bank = Bank(pool: store.pool, logger: TestDatabase.logger)
            let full = try await Bench.Load.measure(bank: bank, events: 1_500, snapshots: false, seconds: 1)
            let viaSnapshot = try await Bench.Load.measure(bank: bank, events: 1_500, snapshots: true, seconds: 1)
            #expect(full.eventsReplayedPerLoad == 1_501)
            #expect(viaSnapshot.eventsReplayedPerLoad == 0)

            // The automatic policy: every 100 events, in the background.
            try await bank.open("snap", owner: "S")
            for _ in 0..<120 { try await bank.deposit(Money(cents: 1), into: "snap") }
            await bank.store.waitForBackgroundWork()
            let account = try await bank.account("snap")
            #expect(account.loadDetails.snapshotVersion == 100)
            #expect(account.loadDetails.eventsReplayed == 21)
            #expect(BalanceReport(account).snapshotVersion == 100)
            #expect(account.state.balance == 120)
        }
    }
}
