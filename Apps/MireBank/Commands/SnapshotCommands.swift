import ArgumentParser
import Foundation
import Logging
import MireSnapshots

struct Snapshot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Take a snapshot of an account now.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The account id.") var account: String

    func run() async throws {
        let taken = try await withBank(options) { bank in
            let loaded = try await bank.account(account)
            try await bank.store.takeSnapshot(loaded)
            return loaded
        }
        try printOutput(BalanceReport(taken), json: options.json) {
            "snapshot of \(account) taken at version \(taken.version)"
        }
    }
}

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure the bank's hot paths.", subcommands: [Load.self])

    struct Load: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Time loads of an account with N events.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Events in the account.") var events = 10_000
        @Flag(help: "Load through a snapshot (taken after writing).") var snapshots = false
        @Option(help: "Loads to time.") var repetitions = 20

        struct Report: Encodable {
            var events: Int
            var snapshots: Bool
            var medianMilliseconds: Double
            var eventsReplayedPerLoad: Int
        }

        func run() async throws {
            let report = try await withBank(options) { bank in
                try await Self.measure(bank: bank, events: events, snapshots: snapshots, repetitions: repetitions)
            }
            try printOutput(report, json: options.json) {
                String(
                    format: "load of a %d-event account %@: median %.2f ms, %d events replayed per load",
                    report.events, report.snapshots ? "through a snapshot" : "by full replay",
                    report.medianMilliseconds, report.eventsReplayedPerLoad)
            }
        }

        static func measure(bank: Bank, events: Int, snapshots: Bool, repetitions: Int) async throws -> Report {
            let id = "bench-\(UUID().uuidString.prefix(8).lowercased())"
            // Written without automatic snapshots, in batches of 1,000 events per save.
            let writer = EventStore(pool: bank.store.pool, logger: Logger(label: "bench"))
            var account = try AggregateRoot<Account>(id: id)
            try account.open(owner: "bench")
            var written = 0
            while written < events {
                let count = min(1_000, events - written)
                for _ in 0..<count { try account.deposit(Money(cents: 1)) }
                try await writer.save(&account)
                written += count
            }
            if snapshots { try await bank.store.takeSnapshot(account) }
            let reader = snapshots ? bank.store : writer
            let clock = ContinuousClock()
            var times: [Duration] = []
            var replayed = 0
            for _ in 0..<repetitions {
                var loaded: AggregateRoot<Account>?
                times.append(try await clock.measure { loaded = try await reader.load(Account.self, id: id) })
                replayed = loaded?.loadDetails.eventsReplayed ?? 0
            }
            let median = times.sorted()[times.count / 2]
            return Report(
                events: events, snapshots: snapshots, medianMilliseconds: median.seconds * 1000,
                eventsReplayedPerLoad: replayed)
        }
    }
}
