import Foundation
import MirePQ
import MireTestSupport
import MireTransactions
import Testing

enum WalletEvent: Codable, Sendable {
    case credited(Int64)
    case debited(Int64)
}

struct Wallet: Aggregate {
    static let category = "wallet"
    var balance: Int64 = 0
    mutating func apply(_ event: WalletEvent) {
        switch event {
        case .credited(let amount): balance += amount
        case .debited(let amount): balance -= amount
        }
    }
}

struct Refused: Error {}

/// Opens wallets `ids` with `balance` each.
func fund(_ store: EventStore, _ ids: [String], balance: Int64 = 100) async throws {
    for id in ids {
        var wallet = try await store.loadOrDefault(Wallet.self, id: id)
        wallet.record(.credited(balance))
        try await store.save(&wallet)
    }
}

/// A transaction that holds wallet `id`'s row lock until released, then records `events` and
/// commits (calling `beforeCommit` just before, lock still held). Returns once the lock is held.
struct LockHolder {
    let done: Task<Void, any Error>
    private let release: AsyncStream<Void>.Continuation

    init(
        _ store: EventStore, on id: String, recording events: [WalletEvent] = [],
        beforeCommit: @escaping @Sendable () -> Void = {}
    ) async {
        let locked = AsyncStream<Void>.makeStream()
        let release = AsyncStream<Void>.makeStream()
        done = Task {
            try await store.transaction { tx in
                var wallet = try #require(try await tx.loadForUpdate(Wallet.self, id: id))
                locked.continuation.yield()
                for await _ in release.stream { break }
                wallet.record(contentsOf: events)
                try await tx.save(&wallet)
                beforeCommit()
            }
        }
        self.release = release.continuation
        for await _ in locked.stream { break }
    }

    /// Lets the transaction finish and waits for its commit.
    func finish() async throws {
        release.yield()
        try await done.value
    }
}

@Suite("Transactions across aggregates", .timeLimit(.minutes(3)))
struct TransactionTests {
    @Test func bothStreamsAdvanceTogether() async throws {
        try await TestDatabase.withStore { store throws in
            try await fund(store, ["a", "b"])
            try await store.transaction { tx in
                var a = try #require(try await tx.loadForUpdate(Wallet.self, id: "a"))
                var b = try #require(try await tx.loadForUpdate(Wallet.self, id: "b"))
                a.record(.debited(30))
                b.record(.credited(30))
                try await tx.save(&a)
                try await tx.save(&b)
            }
            #expect(try await store.load(Wallet.self, id: "a")?.state.balance == 70)
            #expect(try await store.load(Wallet.self, id: "b")?.state.balance == 130)
        }
    }

    @Test func anErrorAfterTheFirstSaveLeavesBothUntouched() async throws {
        try await TestDatabase.withStore { store throws in
            try await fund(store, ["a", "b"])
            await #expect(throws: Refused.self) {
                try await store.transaction { tx in
                    var a = try #require(try await tx.loadForUpdate(Wallet.self, id: "a"))
                    a.record(.debited(30))
                    try await tx.save(&a)
                    throw Refused()
                }
            }
            #expect(try await store.streamInfo(StreamID("wallet-a")).version == 1)
            #expect(try await store.load(Wallet.self, id: "a")?.state.balance == 100)
        }
    }

    @Test func cancellationAfterTheFirstSaveLeavesBothUntouched() async throws {
        try await TestDatabase.withStore { store throws in
            try await fund(store, ["a", "b"])
            let saved = AsyncStream<Void>.makeStream()
            let task = Task {
                try await store.transaction { tx in
                    var a = try #require(try await tx.loadForUpdate(Wallet.self, id: "a"))
                    a.record(.debited(30))
                    try await tx.save(&a)
                    saved.continuation.yield()
                    try await Task.sleep(for: .seconds(30))
                }
            }
            for await _ in saved.stream { break }
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect(try await store.load(Wallet.self, id: "a")?.state.balance == 100)
        }
    }

    @Test func loadForUpdateMakesOtherWritersWaitUntilCommit() async throws {
        try await TestDatabase.withStore(maximumConnections: 4) { store throws in
            try await fund(store, ["a"])
            let order = Locked<[String]>([])
            let holder = await LockHolder(store, on: "a", recording: [.debited(1)]) {
                order.withLock { $0.append("holder commits") }
            }
            let writer = Task {
                // Appends with .any: it only has to wait for the lock, never conflicts.
                try await store.append(
                    [try NewEvent(Wallet.self, .credited(5))], to: StreamID("wallet-a"), expecting: .any)
                order.withLock { $0.append("writer saved") }
            }
            try await Task.sleep(for: .milliseconds(300))
            #expect(order.value.isEmpty)  // still waiting for the lock
            try await holder.finish()
            try await writer.value
            #expect(order.value == ["holder commits", "writer saved"])
            #expect(try await store.load(Wallet.self, id: "a")?.state.balance == 104)
        }
    }

    /// A scope that waited for the lock loads the events the holder committed (not a stale page
    /// beside a newer stream row, which would look like a corrupt stream).
    @Test func loadForUpdateAfterWaitingSeesTheHoldersEvents() async throws {
        try await TestDatabase.withStore(maximumConnections: 4) { store throws in
            try await fund(store, ["a"])
            let holder = await LockHolder(store, on: "a", recording: [.credited(1), .credited(1)])
            let waiter = Task {
                try await store.transaction { tx in
                    try #require(try await tx.loadForUpdate(Wallet.self, id: "a"))
                }
            }
            try await Task.sleep(for: .milliseconds(200))
            try await holder.finish()
            let seen = try await waiter.value
            #expect(seen.version == 3)
            #expect(seen.state.balance == 102)
        }
    }

    @Test func aLockTimeoutIsATypedError() async throws {
        try await TestDatabase.withStore(maximumConnections: 4) { store throws in
            try await fund(store, ["a"])
            let holder = await LockHolder(store, on: "a")
            let error = await #expect(throws: MireError.self) {
                try await store.transaction(TransactionOptions(lockTimeout: .milliseconds(100))) { tx in
                    _ = try await tx.loadForUpdate(Wallet.self, id: "a")
                }
            }
            #expect(error?.code == .lockTimeout)
            #expect(error?.stream == "wallet-a")
            #expect(error?.recovery != nil)
            try await holder.finish()
        }
    }

    @Test func aPlainLoadLetsAConcurrentSaveThroughAndTheScopeConflicts() async throws {
        try await TestDatabase.withStore(maximumConnections: 4) { store throws in
            try await fund(store, ["a"])
            let error = await #expect(throws: MireError.self) {
                try await store.transaction { tx in
                    var a = try #require(try await tx.load(Wallet.self, id: "a"))
                    // Someone else saves in the meantime (outside this transaction, not blocked).
                    var other = try #require(try await store.load(Wallet.self, id: "a"))
                    other.record(.credited(1))
                    try await store.save(&other)
                    a.record(.debited(10))
                    try await tx.save(&a)
                }
            }
            #expect(error?.code == .concurrencyConflict)
            #expect(try await store.load(Wallet.self, id: "a")?.state.balance == 101)
        }
    }

    @Test func retryRunsTheWholeScopeAgainAfterAConflict() async throws {
        try await TestDatabase.withStore(maximumConnections: 4) { store throws in
            try await fund(store, ["a"])
            let attempts = Locked(0)
            let retried = Locked(0)
            let options = TransactionOptions(
                retry: RetryPolicy(maximumAttempts: 3), onRetry: { _, _ in retried.withLock { $0 += 1 } })
            try await store.transaction(options) { tx in
                let attempt = attempts.withLock {
                    $0 += 1
                    return $0
                }
                var a = try #require(try await tx.load(Wallet.self, id: "a"))
                if attempt == 1 {
                    var other = try #require(try await store.load(Wallet.self, id: "a"))
                    other.record(.credited(1))
                    try await store.save(&other)
                }
                a.record(.debited(10))
                try await tx.save(&a)
            }
            #expect(attempts.value == 2)
            #expect(retried.value == 1)
            #expect(try await store.load(Wallet.self, id: "a")?.state.balance == 91)
        }
    }

    @Test func loadForUpdateOfAMissingStreamIsNil() async throws {
        try await TestDatabase.withStore { store throws in
            try await store.transaction { tx in
                #expect(try await tx.loadForUpdate(Wallet.self, id: "nobody") == nil)
                var created = try await tx.loadOrDefault(Wallet.self, id: "nobody")
                created.record(.credited(1))
                try await tx.save(&created)
            }
            #expect(try await store.load(Wallet.self, id: "nobody")?.state.balance == 1)
        }
    }

    @Test func theHandleCannotBeUsedAfterItsScope() async throws {
        try await TestDatabase.withStore { store throws in
            let escaped = try await store.transaction { tx in tx }
            let error = await #expect(throws: MireError.self) { _ = try await escaped.load(Wallet.self, id: "a") }
            #expect(error?.code == .transactionClosed)
        }
    }

    @Test func serializableTransactionsCommit() async throws {
        try await TestDatabase.withStore { store throws in
            try await fund(store, ["a"])
            let level = try await store.transaction(TransactionOptions(isolationLevel: .serializable)) { tx in
                try await tx.sqlConnection.query("SHOW transaction_isolation").single(String.self)
            }
            #expect(level == "serializable")
        }
    }

    @Test func uncommittedEventsAreInvisibleToOthers() async throws {
        try await TestDatabase.withStore(maximumConnections: 4) { store throws in
            try await fund(store, ["a"])
            try await store.transaction { tx in
                var a = try #require(try await tx.loadForUpdate(Wallet.self, id: "a"))
                a.record(.credited(50))
                try await tx.save(&a)
                #expect(try await tx.load(Wallet.self, id: "a")?.state.balance == 150)  // inside: visible
                #expect(try await store.load(Wallet.self, id: "a")?.state.balance == 100)  // outside: not yet
                #expect(try await store.readCategory("wallet").count == 1)
            }
            #expect(try await store.readCategory("wallet").count == 2)
        }
    }
}

@Suite("Several aggregates locked in one round trip", .timeLimit(.minutes(2)))
struct MultiLoadTests {
    @Test func loadForUpdateOfSeveralIdsLocksAndLoadsThemAll() async throws {
        try await TestDatabase.withStore(maximumConnections: 3) { store throws in
            try await fund(store, ["m-a", "m-b"], balance: 10)
            let holder = try await store.transaction { tx in
                let loaded = try await tx.loadForUpdate(Wallet.self, ids: ["m-a", "m-b", "m-missing"])
                #expect(Set(loaded.keys) == ["m-a", "m-b"])
                #expect(loaded["m-a"]?.state.balance == 10)
                // Another writer of m-b waits for this scope: the lock is held.
                do {
                    try await store.pool.withTransaction(PGTransactionOptions(lockTimeout: .milliseconds(200))) {
                        connection in
                        try await connection.query(
                            "SELECT version FROM mire_streams WHERE stream_id = 'wallet-m-b' FOR UPDATE")
                    }
                    return false
                } catch let error as PGError where error.isLockNotAvailable {
                    return true
                }
            }
            #expect(holder)
        }
    }
}
