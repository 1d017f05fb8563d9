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
