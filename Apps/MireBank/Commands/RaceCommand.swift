import ArgumentParser
import Foundation
import MireBankDomain
import MirePostgres
import Synchronization

/// `mire-bank race`: concurrent writers on one account, optimistic concurrency with retry.
struct Race: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Concurrent writers deposit into one account; conflicts are retried and nothing is lost."
    )
    @OptionGroup var options: GlobalOptions
    @Option(help: "Concurrent writer tasks.") var writers = 8
    @Option(help: "Deposits of 1.00 per writer.") var deposits = 25
    @Option(help: "The account (opened first when missing; default: a new one).") var account: String?

    struct Report: Encodable {
        var account: String
        var writers: Int
        var depositsPerWriter: Int
        var conflicts: Int
        var retries: Int
        var startingBalance: String
        var finalBalance: String
        var expectedBalance: String
        var finalVersion: Int64
        var correct: Bool
    }

    func validate() throws {
        guard (1...1_000).contains(writers), (1...1_000_000).contains(deposits) else {
            throw ValidationError("need 1…1,000 --writers and 1…1,000,000 --deposits")
        }
    }

    func run() async throws {
        let report = try await withBank(options) { bank in
            try await Self.race(bank: bank, account: account, writers: writers, deposits: deposits)
        }
        try printOutput(report, json: options.json) {
            """
            race on account \(report.account): \(report.writers) writers × \(report.depositsPerWriter) deposits of 1.00
              conflicts met and retried: \(report.conflicts)
              balance \(report.startingBalance) → \(report.finalBalance) (expected \(report.expectedBalance)) at version \(report.finalVersion)
              \(report.correct ? "correct: no deposit lost or doubled" : "WRONG: deposits were lost or doubled")
            """
        }
        if !report.correct { throw ExitStatus.checkFailed }
    }

    static func race(bank: Bank, account: String?, writers: Int, deposits: Int) async throws -> Report {
        let id = account ?? "race-\(UUID().uuidString.prefix(8).lowercased())"
        var start = try await bank.store.loadOrDefault(Account.self, id: id)
        if start.isNew {
            try start.open(owner: "race")
            try await bank.store.save(&start)
        }
        let startingBalance = start.state.balance
        let unit = Money(cents: 100)
        let conflicts = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<writers {
                group.addTask {
                    var seen = 0
                    for _ in 0..<deposits {
                        let result = try await bank.store.update(
                            Account.self, id: id, retry: RetryPolicy(maximumAttempts: 1_000)
                        ) {
                            try $0.deposit(unit)
                        }
                        seen += result.conflicts
                    }
                    return seen
                }
            }
            return try await group.reduce(0, +)
        }
        let final = try await bank.account(id)
        let expected = try Money.sum(startingBalance, try Money.product(Int64(writers * deposits), unit.cents))
        return Report(
            account: id, writers: writers, depositsPerWriter: deposits, conflicts: conflicts, retries: conflicts,
            startingBalance: Money(cents: startingBalance).description,
            finalBalance: Money(cents: final.state.balance).description,
            expectedBalance: Money(cents: expected).description, finalVersion: final.version,
            correct: final.state.balance == expected
        )
    }
}
