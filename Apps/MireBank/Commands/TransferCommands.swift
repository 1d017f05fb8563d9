import ArgumentParser
import Foundation
import MireBankDomain
import MireTransactions
import Synchronization

struct Transfer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Move money between two accounts atomically (the transaction escape hatch)."
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account to take money from.") var from: String
    @Argument(help: "The account to give it to.") var to: String
    @Argument(help: "The amount, e.g. 25 or 12.50.", transform: Money.parse) var amount: Money

    struct Report: Encodable {
        var from: BalanceReport
        var to: BalanceReport
        var amount: String
    }

    func run() async throws {
        let (source, destination) = try await withBank(options) { bank in
            try await bank.transfer(amount, from: from, to: to)
            return (try await bank.account(from), try await bank.account(to))
        }
        try printOutput(
            Report(from: BalanceReport(source), to: BalanceReport(destination), amount: amount.description),
            json: options.json
        ) {
            "transferred \(amount) from \(from) (now \(Money(cents: source.state.balance))) to \(to) (now \(Money(cents: destination.state.balance)))"
        }
    }
}

struct TransferStorm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer-storm",
        abstract: "Random concurrent transfers; afterwards money is conserved and every history is consistent."
    )
    @OptionGroup var options: GlobalOptions
    @Option(help: "Accounts to open (1000.00 each).") var accounts = 10
    @Option(help: "Transfers to attempt.") var transfers = 200
    @Option(help: "Concurrent workers.") var concurrency = 8

    struct Report: Encodable {
        var accounts: [String]
        var transfersDone: Int
        var transfersRefused: Int
        var conflicts: Int
        var retries: Int
        var totalBefore: String
        var totalAfter: String
        var historiesConsistent: Bool
        var correct: Bool
    }

    func validate() throws {
        guard (2...100_000).contains(accounts), (0...10_000_000).contains(transfers), (1...1_000).contains(concurrency)
        else {
            throw ValidationError("need 2…100,000 --accounts, 0…10,000,000 --transfers and 1…1,000 --concurrency")
        }
    }

    func run() async throws {
        let report = try await withBank(options) { bank in
            try await Self.storm(
                bank: bank, accounts: accounts, transfers: transfers, concurrency: concurrency,
                progress: options.json ? nil : .onTerminal())
        }
        try printOutput(report, json: options.json) {
            """
            transfer storm over \(report.accounts.count) accounts, \(concurrency) workers
              transfers done: \(report.transfersDone), refused (insufficient funds): \(report.transfersRefused)
              conflicts/deadlocks retried: \(report.retries)
              total before \(report.totalBefore), after \(report.totalAfter); histories consistent: \(report.historiesConsistent)
              \(report.correct ? "correct: money was neither created nor destroyed" : "WRONG")
            """
        }
        if !report.correct { throw ExitStatus.checkFailed }
    }

    static func storm(
        bank: Bank, accounts count: Int, transfers: Int, concurrency: Int, progress: ProgressBar? = nil
    ) async throws -> Report {
        guard count >= 2 else { throw ValidationError("a transfer storm needs at least 2 accounts, not \(count)") }
        let run = UUID().uuidString.prefix(6).lowercased()
        let ids = (0..<count).map { "storm-\(run)-\($0)" }
        let opening = Money(cents: 1000_00)
        for id in ids {
            try await bank.open(id, owner: "storm")
            try await bank.deposit(opening, into: id)
        }
        let counters = StormCounters()
        var options = Bank.transferOptions
        options.retry = RetryPolicy(maximumAttempts: 20)
        options.onRetry = { _, _ in counters.add(retries: 1) }
        let transferOptions = options
        try await withProgress(
            progress, label: "transfers", total: transfers,
            current: {
                let (done, refused, _) = counters.snapshot
                return done + refused
            }
        ) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<concurrency {
                    let share = transfers / concurrency + (worker < transfers % concurrency ? 1 : 0)
                    group.addTask {
                        for _ in 0..<share {
                            // Two different accounts (storm needs at least two: checked above).
                            let first = Int.random(in: 0..<ids.count)
                            let from = ids[first]
                            let to = ids[(first + Int.random(in: 1..<ids.count)) % ids.count]
                            let amount = Money(cents: Int64.random(in: 1...500_00))
                            do {
                                try await bank.transfer(amount, from: from, to: to, options: transferOptions)
                                counters.add(done: 1)
                            } catch BankError.insufficientFunds {
                                counters.add(refused: 1)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }

        // Check: every history folds to its balance, never goes negative, and transfers pair up.
        var total: Int64 = 0
        var consistent = true
        var sentTotal: Int64 = 0
        var receivedTotal: Int64 = 0
        for id in ids {
            let account = try await bank.account(id)
            var folded = Account()
            for recorded in try await bank.store.history(Account.self, id: id, limit: 1_000_000) {
                try folded.checkApplicable(recorded.event)  // a history that cannot fold is refused, typed
                folded.apply(recorded.event)
                if case .transferredOut(let amount, _) = recorded.event { sentTotal = try Money.sum(sentTotal, amount) }
                if case .transferredIn(let amount, _) = recorded.event {
                    receivedTotal = try Money.sum(receivedTotal, amount)
                }
                if folded.balance < 0 { consistent = false }
            }
            if folded.balance != account.state.balance { consistent = false }
            total = try Money.sum(total, account.state.balance)
        }
        consistent = consistent && sentTotal == receivedTotal
        let before = try Money.product(opening.cents, Int64(count))
        let (done, refused, retries) = counters.snapshot
        return Report(
            accounts: ids, transfersDone: done, transfersRefused: refused, conflicts: retries, retries: retries,
            totalBefore: Money(cents: before).description, totalAfter: Money(cents: total).description,
            historiesConsistent: consistent, correct: consistent && total == before
        )
    }
}

/// Tallies from concurrent transfer workers.
final class StormCounters: Sendable {
    private let counts = Mutex((done: 0, refused: 0, retries: 0))

    func add(done: Int = 0, refused: Int = 0, retries: Int = 0) {
        counts.withLock {
            $0.done += done
            $0.refused += refused
            $0.retries += retries
        }
    }

    var snapshot: (Int, Int, Int) { counts.withLock { ($0.done, $0.refused, $0.retries) } }
}
