import ArgumentParser
import Foundation
import MireBankDomain
import MirePostgres

/// `mire-bank ingest`: the same events saved one per round trip, then in batches.
struct Ingest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write N deposits one save each, then K per save, and compare throughput."
    )
    @OptionGroup var options: GlobalOptions
    @Option(help: "Events to write in each mode.") var events = 2_000
    @Option(help: "Events per save in batched mode.") var batch = 100
    @Flag(help: "Hide the progress bar.") var quiet = false

    struct Report: Encodable {
        var events: Int
        var batchSize: Int
        var singleSeconds: Double
        var batchedSeconds: Double
        var singleEventsPerSecond: Double
        var batchedEventsPerSecond: Double
        var speedup: Double
    }

    func validate() throws {
        guard (1...10_000_000).contains(events), (1...10_000).contains(batch) else {
            throw ValidationError("need 1…10,000,000 --events and 1…10,000 --batch")
        }
    }

    func run() async throws {
        let showProgress = !quiet && !options.json
        let report = try await withBank(options) { bank in
            try await Self.ingest(
                bank: bank, events: events, batch: batch, progress: showProgress ? ProgressBar.onTerminal() : nil)
        }
        try printOutput(report, json: options.json) {
            String(
                format: """
                    ingested %d deposits twice
                      one event per save:    %8.0f events/s  (%.2f s)
                      %d events per save: %8.0f events/s  (%.2f s)
                      speedup: %.1f×
                    """,
                report.events, report.singleEventsPerSecond, report.singleSeconds, report.batchSize,
                report.batchedEventsPerSecond, report.batchedSeconds, report.speedup
            )
        }
    }

    static func ingest(bank: Bank, events: Int, batch: Int, progress: ProgressBar?) async throws -> Report {
        let run = UUID().uuidString.prefix(8).lowercased()
        let clock = ContinuousClock()

        // One save per event: one round trip and one commit each.
        var single = try AggregateRoot<Account>(id: "ingest-\(run)-single")
        try single.open(owner: "ingest")
        try await bank.store.save(&single)
        let singleTime = try await clock.measure {
            for index in 0..<events {
                try single.deposit(Money(cents: 1))
                try await bank.store.save(&single)
                progress?.update(label: "one per save", done: index + 1, total: events)
            }
        }

        // Batched: record `batch` events, then one save carries them all in one statement.
        var batched = try AggregateRoot<Account>(id: "ingest-\(run)-batched")
        try batched.open(owner: "ingest")
        try await bank.store.save(&batched)
        let batchedTime = try await clock.measure {
            var written = 0
            while written < events {
                let count = min(batch, events - written)
                for _ in 0..<count { try batched.deposit(Money(cents: 1)) }
                try await bank.store.save(&batched)
                written += count
                progress?.update(label: "batched     ", done: written, total: events)
            }
        }

        let singleSeconds = singleTime.seconds
        let batchedSeconds = batchedTime.seconds
        return Report(
            events: events, batchSize: batch, singleSeconds: singleSeconds, batchedSeconds: batchedSeconds,
            singleEventsPerSecond: Double(events) / singleSeconds,
            batchedEventsPerSecond: Double(events) / batchedSeconds,
            speedup: singleSeconds / batchedSeconds
        )
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
