import Foundation
import MirePQ
import MireTestSupport
import Synchronization
import Testing

@Suite("Connections run on their own executors", .timeLimit(.minutes(3)))
struct ExecutorTests {
    /// Eight blocking `pg_sleep(0.3)` on eight connections overlap on the server, and a ticker
    /// on the cooperative pool (two threads here) keeps ticking while they block.
    @Test func blockingQueriesDoNotStarveTheCooperativePool() async throws {
        let configuration = try await TestDatabase.configuration()
        let count = 8
        var connections: [PGConnection] = []
        for _ in 0..<count {
            connections.append(
                try await PGConnection.connect(configuration: configuration, logger: TestDatabase.logger))
        }
        let ticks = Mutex<[ContinuousClock.Instant]>([])
        let ticker = Task {
            while !Task.isCancelled {
                ticks.withLock { $0.append(.now) }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        let started = ContinuousClock.now
        let intervals = try await withThrowingTaskGroup(of: (Date, Date).self) { group in
            for connection in connections {
                group.addTask {
                    let row = try await connection.query(
                        "SELECT clock_timestamp(), (SELECT clock_timestamp() FROM pg_sleep(0.3))"
                    )[0]
                    return try row.decode((Date, Date).self)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let finished = ContinuousClock.now
        ticker.cancel()
        for connection in connections { await connection.close() }

        // Every sleep began before any ended: they ran side by side, not one after another.
        let latestStart = intervals.map(\.0).max()!
        let earliestEnd = intervals.map(\.1).min()!
        #expect(latestStart < earliestEnd)
        // The ticker ran while the queries blocked.
        let ticksDuringQueries = ticks.withLock { $0.filter { $0 > started && $0 < finished }.count }
        #expect(ticksDuringQueries >= 5)
    }
}
