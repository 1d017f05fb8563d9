import Foundation
import MireBankDomain
import MirePostgres

/// Checks a chaos run's log against what every caller was told, on a connection without faults.
struct ChaosAudit {
    let bank: Bank
    /// The run's accounts, whose ids all start with `prefix`.
    let ids: [String]
    let prefix: String
    let openingCents: Int64
    let operations: [ChaosRun.Operation]
    let caughtUp: Bool

    func run() async throws -> ChaosReport {
        var report = ChaosReport()
        let stored = try await storedEventsByCommand()
        let issued = Set(operations.map(\.command))
        var expectedCents = openingCents * Int64(ids.count)
        for operation in operations {
            let count = stored[operation.command] ?? 0
            let complete = count == operation.eventCount
            if count > operation.eventCount {
                report.duplicates += 1
                report.violations.append("command \(operation.command) is stored \(count) times over")
            }
            if count != 0 && !complete && count < operation.eventCount {
                report.violations.append("command \(operation.command) is stored in part (\(count) events)")
            }
            switch operation.outcome {
            case .acknowledged:
                if operation.kind == .deposit {
                    report.acknowledgedSaves += 1
                } else {
                    report.acknowledgedTransfers += 1
                }
                if !complete { report.violations.append("acknowledged command \(operation.command) is not stored") }
            case .refused:
                report.refusedTransfers += 1
                if count != 0 { report.violations.append("refused command \(operation.command) is stored") }
            case .failed(let unknown, let error):
                if unknown {
                    if complete {
                        report.unknownOutcomes.committed += 1
                    } else {
                        report.unknownOutcomes.notCommitted += 1
                    }
                } else {
                    report.failedCommands += 1
                    report.failures.append(error)
                    if count != 0 {
                        report.violations.append("command \(operation.command) failed (\(error)) yet is stored")
                    }
                }
            }
            if operation.kind == .deposit && complete { expectedCents = try Money.sum(expectedCents, operation.amount) }
        }
        for command in stored.keys where !issued.contains(command) {
            report.violations.append("the log holds command \(command), which nobody issued")
        }
        report.duplicates += try await duplicateEventIDs()

        // Money: what the acknowledged (and found-stored) deposits add up to, against a replay.
        var replayed: [String: (balance: Int64, version: Int64)] = [:]
        for id in ids {
            let account = try await bank.account(id)
            replayed[id] = (account.state.balance, account.version)
            if account.state.balance < 0 { report.violations.append("account \(id) is overdrawn") }
        }
        let actualCents = try replayed.values.reduce(0) { try Money.sum($0, $1.balance) }
        report.moneyBefore = Money(cents: expectedCents).description
        report.moneyAfter = Money(cents: actualCents).description
        if expectedCents != actualCents {
            report.violations.append("money before \(report.moneyBefore) and after \(report.moneyAfter) differ")
        }

        // The read model the two replicas built, against the replay.
        let rows = try await ReadModel.accounts(bank.store.pool).filter { replayed[$0.account] != nil }
        let mismatched = ids.filter { id in
            guard let row = rows.first(where: { $0.account == id }), let replay = replayed[id] else { return true }
            return row.balanceCents != replay.balance || row.version != replay.version
        }
        report.readModelMatchesReplay = caughtUp && mismatched.isEmpty
        if !caughtUp { report.violations.append("the projection replicas did not catch up with the log") }
        if !mismatched.isEmpty { report.violations.append("the read model differs from a replay for \(mismatched)") }
        return report
    }

    /// Events per command (the correlation id every chaos command stamps on its events).
    private func storedEventsByCommand() async throws -> [UUID: Int] {
        let streamPrefix = "account-" + prefix
        let rows = try await bank.store.pool.withConnection { connection in
            try await connection.query(
                """
                SELECT metadata->>'correlationID', count(*) FROM mire_events
                WHERE starts_with(stream_id, \(streamPrefix)) AND metadata ? 'correlationID'
                GROUP BY 1
                """)
        }
        var result: [UUID: Int] = [:]
        for row in rows {
            let (text, count) = try row.decode((String, Int64).self)
            if let command = UUID(uuidString: text) { result[command] = Int(count) }
        }
        return result
    }

    /// Event ids stored more than once (the log's unique index forbids it; checked anyway).
    private func duplicateEventIDs() async throws -> Int {
        let count = try await bank.store.pool.withConnection { connection in
            try await connection.query(
                "SELECT count(*) FROM (SELECT event_id FROM mire_events GROUP BY event_id HAVING count(*) > 1) d"
            ).single(Int64.self)
        }
        return Int(count)
    }
}

/// What `mire-bank chaos` prints (and emits with `--json`).
struct ChaosReport: Encodable {
    struct Faults: Encodable, Sendable {
        /// Replies dropped, requests dropped and connections cut by the proxy.
        var proxyFaultsFired = 0
        var backendsKilled = 0
        var serverRestarts = 0
        /// Primaries crashed and standbys promoted in their place.
        var failovers = 0
        /// How long `pg_ctl promote` took after the crash.
        var promotionMilliseconds: Int64?
        var primaryCrashedAt: ContinuousClock.Instant?

        enum CodingKeys: String, CodingKey {
            case proxyFaultsFired, backendsKilled, serverRestarts, failovers, promotionMilliseconds
        }
    }
    /// A failover as the writers saw it.
    struct Failover: Encodable {
        /// From the last acknowledgement before the primary crashed to the first one after.
        var writersWaitedMilliseconds: Int64?
        /// Commands acknowledged before the crash and after it.
        var acknowledgedBefore = 0
        var acknowledgedAfter = 0

        init(crashedAt crashed: ContinuousClock.Instant, operations: [ChaosRun.Operation]) {
            let acknowledged = operations.filter {
                if case .acknowledged = $0.outcome { true } else { false }
            }.map(\.answered)
            let before = acknowledged.filter { $0 <= crashed }
            let after = acknowledged.filter { $0 > crashed }
            acknowledgedBefore = before.count
            acknowledgedAfter = after.count
            if let last = before.max(), let first = after.min() {
                writersWaitedMilliseconds = (first - last).wholeMilliseconds
            }
        }
    }
    struct UnknownOutcomes: Encodable {
        /// Commands whose caller got "outcome unknown" and whose events the log holds.
        var committed = 0
        /// … and whose events it does not hold.
        var notCommitted = 0
    }
    /// Unknown outcomes the library settled by event ids, as it counted them.
    struct Resolved: Encodable {
        var savesCommitted: Int64 = 0
        var savesNotCommitted: Int64 = 0
        var transactionsCommitted: Int64 = 0
        var transactionsNotCommitted: Int64 = 0
        var projectionDeliveriesCommitted: Int64 = 0
    }

    var seconds = 0
    var acknowledgedSaves = 0
    var acknowledgedTransfers = 0
    var refusedTransfers = 0
    /// Commands that failed with a definite error (not stored, and checked to be absent).
    var failedCommands = 0
    var failures: [String] = []
    var unknownOutcomes = UnknownOutcomes()
    var resolved = Resolved()
    var faults = Faults()
    var failover: Failover?
    var duplicates = 0
    var moneyBefore = ""
    var moneyAfter = ""
    var readModelMatchesReplay = false
    var violations: [String] = []

    var text: String {
        """
        chaos: \(seconds) s, \(faults.proxyFaultsFired) proxy faults, \(faults.backendsKilled) backends killed, \(faults.serverRestarts) server crashes, \(faults.failovers) failovers\(failoverText)
          acknowledged: \(acknowledgedSaves) deposits, \(acknowledgedTransfers) transfers (\(refusedTransfers) refused for funds)
          settled by the library: saves \(resolved.savesCommitted) committed / \(resolved.savesNotCommitted) not; transactions \(resolved.transactionsCommitted) / \(resolved.transactionsNotCommitted); projection deliveries \(resolved.projectionDeliveriesCommitted) committed
          left unknown to the caller: \(unknownOutcomes.committed) stored, \(unknownOutcomes.notCommitted) not; failed definitely: \(failedCommands)
          duplicates: \(duplicates); money before \(moneyBefore), after \(moneyAfter); read model matches replay: \(readModelMatchesReplay)
          \(violations.isEmpty ? "clean: every invariant holds" : "VIOLATIONS:\n    " + violations.joined(separator: "\n    "))
        """
    }

    private var failoverText: String {
        guard let failover else { return "" }
        let waited = failover.writersWaitedMilliseconds.map { "\($0) ms" } ?? "?"
        let promotion = faults.promotionMilliseconds.map { "\($0) ms" } ?? "?"
        return "\n  failover: promoted in \(promotion); writers waited \(waited) between acknowledgements; "
            + "\(failover.acknowledgedBefore) commands acknowledged before the crash, \(failover.acknowledgedAfter) after"
    }
}
