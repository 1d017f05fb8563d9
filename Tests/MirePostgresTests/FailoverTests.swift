import Foundation
import MireLocalServer
import MirePQ
import MirePostgres
import MireTestSupport
import Testing

/// A counter whose events carry their sequence number, so a lost or doubled save shows.
private struct Counter: Aggregate {
    static let category = "counter"
    enum Event: Codable, Sendable { case counted(Int64) }
    var values: [Int64] = []
    mutating func apply(_ event: Event) {
        if case .counted(let value) = event { values.append(value) }
    }
}

@Suite("Failover to a promoted standby", .timeLimit(.minutes(3)))
struct FailoverTests {
    @Test func savesReachThePromotedStandbyAndNoAcknowledgedSaveIsLost() async throws {
        try await withSynchronousPair { primaryPair, standbyPair in
            let (primary, _) = primaryPair
            let (standby, _) = standbyPair
            // Both servers in one connection string: libpq connects to the one that takes writes.
            let pool = PGPool(
                configuration: try LocalPostgresServer.writableConfiguration(among: [primary, standby]),
                maximumConnections: 2, logger: TestDatabase.logger)
            try await TestDatabase.ensuring {
                let store = EventStore(
                    pool: pool, configuration: .init(wakeUpChannel: nil), logger: TestDatabase.logger)
                try await store.migrate()
                let patient = RetryPolicy(
                    maximumAttempts: 60, baseDelay: .milliseconds(50), maximumDelay: .milliseconds(500))

                var acknowledged: [Int64] = []
                for value in Int64(1)...20 {
                    try await store.update(Counter.self, id: "c", retry: patient) { $0.record(.counted(value)) }
                    acknowledged.append(value)
                }
                // The primary goes away; the standby is promoted; the same pool carries on.
                try primary.stop()
                try await standby.promote()
                for value in Int64(21)...40 {
                    try await store.update(Counter.self, id: "c", retry: patient) { $0.record(.counted(value)) }
                    acknowledged.append(value)
                }
                let counter = try #require(try await store.load(Counter.self, id: "c"))
                #expect(counter.state.values == acknowledged, "every acknowledged save, once, in order")
                #expect(counter.version == 40)
            } cleanup: {
                await pool.shutdown()
            }
        }
    }

    @Test func thePoolDropsConnectionsToAServerThatStoppedTakingWritesAndSavesGoOnElsewhere() async throws {
        try await withSynchronousPair { primaryPair, standbyPair in
            let (primary, primaryConfiguration) = primaryPair
            let (standby, standbyConfiguration) = standbyPair
            let pool = PGPool(
                configuration: try LocalPostgresServer.writableConfiguration(among: [primary, standby]),
                maximumConnections: 2, logger: TestDatabase.logger)
            try await TestDatabase.ensuring {
                let store = EventStore(
                    pool: pool, configuration: .init(wakeUpChannel: nil), logger: TestDatabase.logger)
                try await store.migrate()
                for value in Int64(1)...10 {
                    try await store.update(Counter.self, id: "c") { $0.record(.counted(value)) }
                }
                #expect(pool.statistics.open >= 1, "the pool holds connections to the old primary")

                // The old primary is fenced (still up, but read-only), the standby promoted.
                let fence = try await PGConnection.connect(
                    configuration: primaryConfiguration, logger: TestDatabase.logger)
                try await fence.query("ALTER SYSTEM SET default_transaction_read_only = on")
                try await fence.query("SELECT pg_reload_conf()")
                let refused = await #expect(throws: PGError.self) {
                    try await fence.query("CREATE TABLE refused (v int)")
                }
                #expect(refused?.code == .readOnlyServer)
                await fence.close()
                try await standby.promote()

                // The pooled connections to the fenced server fail once each, are dropped, and
                // the retried saves reach the promoted server.
                let retry = RetryPolicy(
                    maximumAttempts: 5, baseDelay: .milliseconds(10), maximumDelay: .milliseconds(50))
                for value in Int64(11)...20 {
                    try await store.update(Counter.self, id: "c", retry: retry) { $0.record(.counted(value)) }
                }
                let counter = try #require(try await store.load(Counter.self, id: "c"))
                #expect(counter.state.values == Array(1...20))

                let promoted = try await PGConnection.connect(
                    configuration: standbyConfiguration, logger: TestDatabase.logger)
                let stored = try await promoted.query("SELECT count(*) FROM mire_events").single(Int64.self)
                await promoted.close()
                #expect(stored == 20, "every save after the fence went to the promoted server")
            } cleanup: {
                await pool.shutdown()
            }
        }
    }
}
