import ArgumentParser
import Foundation
import Logging
import Metrics
import MireBankDomain
import MireProjections
import MireTestSupport
import MireTransactions

/// `mire-bank chaos`: deposits, transfers and two projection replicas run through a proxy that
/// drops replies and requests, while backends are killed and the server is crashed and started
/// again; afterwards every invariant is checked against the log.
struct Chaos: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run writers, transfers and two projection replicas under injected faults, then audit.",
        discussion: """
            By default it starts a private PostgreSQL server of its own (durable commits), so it can \
            crash and restart it; with --database it uses that server and does not restart it. \
            Exits non-zero if any invariant is violated: an acknowledged write missing, a write \
            stored twice, money created or destroyed, or the read model differing from a replay. \
            With --failover-after it runs a primary and a synchronous standby instead, crashes the \
            primary at that second, promotes the standby, and injects nothing else.
            """
    )
    @OptionGroup var options: GlobalOptions
    @Option(help: "How long to inject faults.") var seconds = 30
    @Option(help: "Accounts to open (1000.00 each).") var accounts = 8
    @Option(help: "Concurrent depositors.") var writers = 4
    @Option(help: "Concurrent transfer workers.") var transferers = 3
    @Option(help: "Seconds between server crashes (0: none).") var restartEvery = 15
    @Option(help: "Crash the primary after this many seconds and promote its synchronous standby (0: no failover).")
    var failoverAfter = 0

    func validate() throws {
        guard (1...86_400).contains(seconds), (2...10_000).contains(accounts), (0...256).contains(writers),
            (0...256).contains(transferers), (0...86_400).contains(restartEvery)
        else {
            throw ValidationError(
                "need 1…86,400 --seconds, 2…10,000 --accounts, 0…256 --writers and --transferers, 0…86,400 --restart-every"
            )
        }
        guard failoverAfter == 0 || (1..<seconds).contains(failoverAfter) && options.databaseURL == nil else {
            throw ValidationError("--failover-after needs the embedded servers and fewer seconds than --seconds")
        }
    }

    func run() async throws {
        let logger = options.makeLogger()
        let metrics = CountingMetrics()
        MetricsSystem.bootstrap(metrics)
        let failover = failoverAfter > 0
        let target =
            failover
            ? try await ChaosTarget.startFailoverPair(logger: logger)
            : try await ChaosTarget.start(options: options, logger: logger)
        defer { target.stop() }
        if !options.json {
            let disruption =
                failover
                ? "the primary crashes at \(failoverAfter) s and its synchronous standby is promoted"
                : target.server == nil
                    ? "no server restarts (external server)" : "a server crash every \(restartEvery) s"
            print(
                "chaos for \(seconds) s: \(writers) depositors, \(transferers) transfer workers, 2 projection replicas, "
                    + disruption)
        }
        var run = ChaosRun(
            target: target, accounts: accounts, writers: writers, transferers: transferers,
            duration: .seconds(seconds),
            restartEvery: restartEvery == 0 || failover ? nil : .seconds(restartEvery), logger: logger)
        run.failoverAfter = failover ? .seconds(failoverAfter) : nil
        var report = try await run.execute()
        report.resolved = ChaosReport.Resolved(
            savesCommitted: metrics.total(
                "mire_outcome_unknown_resolved", [("operation", "save"), ("outcome", "committed")]),
            savesNotCommitted: metrics.total(
                "mire_outcome_unknown_resolved", [("operation", "save"), ("outcome", "not_committed")]),
            transactionsCommitted: metrics.total(
                "mire_outcome_unknown_resolved", [("operation", "transaction"), ("outcome", "committed")]),
            transactionsNotCommitted: metrics.total(
                "mire_outcome_unknown_resolved", [("operation", "transaction"), ("outcome", "not_committed")]),
            projectionDeliveriesCommitted: metrics.total(
                "mire_outcome_unknown_resolved", [("operation", "projection"), ("outcome", "committed")]))
        try printOutput(report, json: options.json) { report.text }
        if !report.violations.isEmpty { throw ExitStatus.checkFailed }
    }
}
