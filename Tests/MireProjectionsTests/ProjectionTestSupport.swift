import Foundation
import MireProjections
import MireTestSupport
import MireTransactions

enum TallyEvent: Codable, Sendable, Equatable { case added(Int64) }

struct Tally: Aggregate {
    static let category = "tally"
    var total: Int64 = 0
    mutating func apply(_ event: TallyEvent) {
        if case .added(let amount) = event { total += amount }
    }
}

/// What a test projection saw, in order.
final class Seen: Sendable {
    let events = Locked<[RawRecordedEvent]>([])
    func append(_ event: RawRecordedEvent) { events.withLock { $0.append(event) } }
    var all: [RawRecordedEvent] { events.value }
}

/// A quick runner configuration for tests.
func testConfiguration(_ worker: String, ttl: Duration = .seconds(2)) -> ProjectionRunner.Configuration {
    var configuration = ProjectionRunner.Configuration(workerID: worker)
    configuration.leaseTTL = ttl
    configuration.heartbeatInterval = ttl / 4
    configuration.leaseRecheckInterval = .milliseconds(100)
    configuration.pollInterval = .milliseconds(50)
    configuration.initialBackoff = .milliseconds(10)
    configuration.maximumBackoff = .milliseconds(100)
    configuration.batchSize = 50
    configuration.wakeUpChannel = nil
    return configuration
}

/// Runs `runner` in the background for the duration of `body`.
func whileRunning<T>(_ runner: ProjectionRunner, _ body: () async throws -> T) async throws -> T {
    let task = Task { try await runner.run() }
    do {
        let result = try await body()
        task.cancel()
        try await task.value
        return result
    } catch {
        task.cancel()
        _ = try? await task.value
        throw error
    }
}

/// Checks a delivery: every committed event exactly once, each stream in version order.
func checkDelivery(_ seen: [RawRecordedEvent], against log: [RawRecordedEvent]) -> [String] {
    var problems: [String] = []
    let positions = seen.map(\.position)
    if Set(positions).count != positions.count { problems.append("an event was delivered twice") }
    if Set(positions) != Set(log.map(\.position)) {
        problems.append("delivered \(Set(positions).count) distinct events, the log has \(log.count)")
    }
    var last: [StreamID: Int64] = [:]
    for event in seen {
        if let previous = last[event.stream], event.version != previous + 1 {
            problems.append("\(event.stream) v\(event.version) came after v\(previous)")
        } else if last[event.stream] == nil, event.version != 1 {
            problems.append("\(event.stream) began at v\(event.version)")
        }
        last[event.stream] = event.version
    }
    return problems
}

/// Eight writers, twelve transactions each, over four streams: each transaction sleeps up to
/// 25 ms before committing (so commits come out of position order) and one in five rolls back.
func writeWithOutOfOrderCommitsAndRollbacks(to store: EventStore) async throws {
    struct Rollback: Error {}
    try await withThrowingTaskGroup(of: Void.self) { group in
        for writer in 0..<8 {
            group.addTask {
                for round in 0..<12 {
                    let options = TransactionOptions(retry: RetryPolicy(maximumAttempts: 50))
                    do {
                        try await store.transaction(options) { tx in
                            var tally = try await tx.loadOrDefault(Tally.self, id: "s\((writer + round) % 4)")
                            tally.record(.added(1))
                            if round % 3 == 0 { tally.record(.added(2)) }
                            try await tx.save(&tally)
                            try await Task.sleep(for: .milliseconds(Int.random(in: 0...25)))
                            if Int.random(in: 0..<5) == 0 { throw Rollback() }
                        }
                    } catch is Rollback {}
                }
            }
        }
        try await group.waitForAll()
    }
}
