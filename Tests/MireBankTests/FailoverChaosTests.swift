import MireTestSupport
import Testing

@testable import MireBankCLI

/// The bank's chaos run against a primary and its synchronous standby: four depositors and four
/// transfer workers (a transfer storm) write while two projection replicas run; the primary
/// crashes mid-run and the standby is promoted. The audit then checks every acknowledged command
/// is stored once, nothing refused or failed is stored, money is conserved, and the read model
/// equals a replay of the log.
@Suite("Failover under writers and a transfer storm", .timeLimit(.minutes(3)))
struct FailoverChaosTests {
    @Test func promotingTheSynchronousStandbyMidRunLosesAndDoublesNothing() async throws {
        let target = try await ChaosTarget.startFailoverPair(logger: TestDatabase.logger)
        defer { target.stop() }
        var run = ChaosRun(
            target: target, accounts: 8, writers: 4, transferers: 4, duration: .seconds(6), restartEvery: nil,
            logger: TestDatabase.logger)
        run.failoverAfter = .seconds(2)
        let report = try await run.execute()
        #expect(report.violations.isEmpty, "\(report.text)")
        #expect(report.faults.failovers == 1)
        #expect((report.failover?.acknowledgedBefore ?? 0) > 0, "writers were busy when the primary crashed")
        #expect((report.failover?.acknowledgedAfter ?? 0) > 0, "writers carried on on the promoted standby")
        #expect(report.acknowledgedTransfers > 0)
        #expect(report.readModelMatchesReplay)
    }
}
