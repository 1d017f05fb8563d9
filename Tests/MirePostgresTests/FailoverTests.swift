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
            let (primary, primaryConfiguration) = primaryPair
            let (standby, standbyConfiguration) = standbyPair

            // Both servers in one connection string: libpq connects to the one that takes writes.
            var configuration = primaryConfiguration
            let ports = [primaryConfiguration, standbyConfiguration].compactMap { $0.keywords["port"] }
            configuration.keywords["host"] = "127.0.0.1,127.0.0.1"
            configuration.keywords["port"] = ports.joined(separator: ",")
            configuration.keywords["target_session_attrs"] = "read-write"
            configuration.connectTimeoutSeconds = 2
            let pool = PGPool(configuration: configuration, maximumConnections: 2, logger: TestDatabase.logger)
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
}
