import Foundation
import MireTestSupport
import MireTransactions
import Testing

/// `store.transaction` when the COMMIT's reply never comes.
@Suite("Transactions under faults", .timeLimit(.minutes(3)))
struct TransactionFaultTests {
    /// Moves `amount` from `from` to `to` in one transaction.
    static func transfer(_ amount: Int64, from: String, to: String, on store: EventStore, attempts: Int = 5)
        async throws
    {
        try await store.transaction(TransactionOptions(retry: RetryPolicy(maximumAttempts: attempts))) { tx in
            let ids = [from, to].sorted()
            var wallets: [String: AggregateRoot<Wallet>] = [:]
            for id in ids {
                let wallet = try #require(try await tx.loadForUpdate(Wallet.self, id: id))
                wallets[id] = wallet
            }
            wallets[from]!.record(.debited(amount))
            wallets[to]!.record(.credited(amount))
            for id in ids { try await tx.save(&wallets[id]!) }
        }
    }

    @Test func aTransferWhoseCommitReplyIsLostMovesMoneyOnce() async throws {
        try await TestDatabase.withProxiedStore { store, proxy, direct throws in
            try await fund(direct, ["from", "to"], balance: 100)
            proxy.arm(.dropReply, whenStatementIs: "COMMIT", alone: true)
            try await Self.transfer(10, from: "from", to: "to", on: store)
            #expect(proxy.faultsFired == 1)
            #expect(try await direct.load(Wallet.self, id: "from")?.state.balance == 90)
            #expect(try await direct.load(Wallet.self, id: "to")?.state.balance == 110)
        }
    }

    @Test func aTransferWhoseCommitNeverArrivesIsRunAgainAndMovesMoneyOnce() async throws {
        try await TestDatabase.withProxiedStore { store, proxy, direct throws in
            try await fund(direct, ["from", "to"], balance: 100)
            proxy.arm(.dropRequest, whenStatementIs: "COMMIT", alone: true)
            try await Self.transfer(10, from: "from", to: "to", on: store)
            #expect(proxy.faultsFired == 1)
            #expect(try await direct.load(Wallet.self, id: "from")?.state.balance == 90)
            #expect(try await direct.load(Wallet.self, id: "to")?.state.balance == 110)
        }
    }
}

@Suite("Transactions: the review's cases", .timeLimit(.minutes(2)))
struct TransactionReviewTests {
    /// An unknown outcome from a write the body made on its own (outside the transaction) is the
    /// body's: the scope neither settles it as its own nor runs the body again.
    @Test func anUnknownOutcomeFromTheBodyIsNotTakenForTheScopes() async throws {
        try await TestDatabase.withProxiedStore { store, proxy, direct throws in
            try await fund(direct, ["inner", "scoped"], balance: 1)
            let runs = Locked(0)
            proxy.arm(.dropReply, when: .requestContains(#""_0":77"#))
            let error = await #expect(throws: MireError.self) {
                try await store.transaction(TransactionOptions(retry: RetryPolicy(maximumAttempts: 5))) { tx in
                    runs.withLock { $0 += 1 }
                    var scoped = try #require(try await tx.loadForUpdate(Wallet.self, id: "scoped"))
                    scoped.record(.credited(1))
                    try await tx.save(&scoped)
                    // An autocommitted append from inside the scope: its reply is lost.
                    try await store.append(
                        [try NewEvent(Wallet.self, .credited(77))], to: StreamID(category: "wallet", id: "inner"),
                        expecting: .any)
                }
            }
            #expect(error?.code == .commitOutcomeUnknown)
            #expect(runs.value == 1)
            #expect(try await direct.load(Wallet.self, id: "inner")?.state.balance == 78)
        }
    }

    /// An empty append inside a scope reads the version where the scope runs: with one pooled
    /// connection, reading through the pool would wait for ever.
    @Test func anEmptyAppendInsideAScopeReadsInsideIt() async throws {
        try await TestDatabase.withStore(maximumConnections: 1) { store throws in
            try await fund(store, ["empty"], balance: 5)
            let version = try await store.transaction { tx in
                var wallet = try #require(try await tx.loadForUpdate(Wallet.self, id: "empty"))
                wallet.record(.debited(1))
                try await tx.save(&wallet)
                return try await tx.append([], to: wallet.id, expecting: .streamExists).version
            }
            #expect(version == 2)
        }
    }
}
