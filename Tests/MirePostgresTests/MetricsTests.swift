import Foundation
import Metrics
import MetricsTestKit
import MirePQ
import MirePostgres
import MireTestSupport
import Testing

/// Every metric Mire records, under one process-wide test backend (bootstrapped once: the
/// metrics system allows one bootstrap per process).
let recorded: TestMetrics = {
    let metrics = TestMetrics()
    MetricsSystem.bootstrap(metrics)
    return metrics
}()

private struct Meter: Aggregate {
    static let category = "metered"
    enum Event: Codable, Sendable { case ticked }
    var ticks = 0
    mutating func apply(_ event: Event) { ticks += 1 }
}

@Suite("Metrics")
struct MetricsTests {
    @Test func savesLoadsConflictsRetriesAndThePoolAreMeasured() async throws {
        let metrics = recorded
        try await TestDatabase.withSchema { configuration in
            // A pool of its own name, so that other tests' pools do not add to its metrics.
            var configuration = configuration
            configuration.applicationName = "metered-" + UUID().uuidString.prefix(8)
            let pool = PGPool(configuration: configuration, maximumConnections: 2, logger: TestDatabase.logger)
            let store = EventStore(pool: pool, configuration: .init(wakeUpChannel: nil), logger: TestDatabase.logger)
            try await store.migrate()
            var first = try await store.loadOrDefault(Meter.self, id: "m")
            var second = first
            first.record(.ticked)
            second.record(.ticked)
            try await store.save(&first)
            await #expect(throws: MireError.self) { try await store.save(&second) }
            // Two writers' `update`s conflict; each conflict is one retry.
            let ready = StartingGate(parties: 2)
            let conflicts = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        await ready.arriveAndWait()
                        var seen = 0
                        for _ in 0..<30 {
                            seen += try await store.update(
                                Meter.self, id: "m", retry: RetryPolicy(maximumAttempts: 100)
                            ) {
                                $0.record(.ticked)
                            }.conflicts
                        }
                        return seen
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(conflicts > 0)

            let saved = metrics.timers(
                label: "mire_save_duration", dimensions: [("category", "metered"), ("outcome", "ok")])
            #expect(saved.flatMap(\.values).count >= 2)
            let conflicted = metrics.timers(
                label: "mire_save_duration", dimensions: [("category", "metered"), ("outcome", "conflict")])
            #expect(conflicted.flatMap(\.values).count >= 1)
            #expect(metrics.counterTotal(label: "mire_save_conflicts", dimensions: [("category", "metered")]) >= 1)
            #expect(
                !metrics.timers(label: "mire_load_duration", dimensions: [("category", "metered"), ("outcome", "ok")])
                    .isEmpty)
            #expect(
                metrics.counterTotal(label: "mire_retries", dimensions: [("operation", "update")]) >= Int64(conflicts))

            // The pool reports its size; while both connections are held, a third caller waits
            // and is timed.
            try await withThrowingTaskGroup(of: Void.self) { group in
                let holding = AsyncStream<Void>.makeStream()
                for _ in 0..<2 {
                    group.addTask {
                        try await pool.withConnection { _ in
                            holding.continuation.yield()
                            try await Task.sleep(for: .milliseconds(50))
                        }
                    }
                }
                var held = 0
                for await _ in holding.stream {
                    held += 1
                    if held == 2 { break }
                }
                group.addTask { try await pool.withConnection { _ in } }
                try await group.waitForAll()
            }
            let name = pool.configuration.applicationName
            let open = try metrics.expectGauge("mire_pool_connections", [("pool", name), ("state", "open")])
            #expect(open.lastValue == 2)
            let waited = try metrics.expectTimer("mire_pool_wait_duration", [("pool", name)])
            #expect(!waited.values.isEmpty)
            await pool.shutdown()
            #expect(open.lastValue == 0)  // a closed pool does not look open
        }
    }
}
