import Foundation
import Logging
import MireCore
import MirePQ
import MirePostgres
import MireTestSupport
import ServiceLifecycle
import Testing

private struct Tally: Aggregate {
    static let category = "tally"
    enum Event: Codable, Sendable { case added(Int) }
    var total = 0
    mutating func apply(_ event: Event) {
        if case .added(let n) = event { total += n }
    }
}

/// The store as a ServiceLifecycle service: its background work runs in `run()`, graceful
/// shutdown finishes that work, then closes the pool.
@Suite("Event store lifecycle")
struct StoreLifecycleTests {
    @Test(.timeLimit(.minutes(1))) func wakeUpsAreSentWhileTheStoreRunsInAServiceGroup() async throws {
        try await TestDatabase.withSchema { configuration in
            let channel = "wake_" + UUID().uuidString.prefix(8).lowercased()
            let pool = PGPool(configuration: configuration, maximumConnections: 2, logger: TestDatabase.logger)
            let store = EventStore(
                pool: pool, configuration: .init(wakeUpChannel: channel), logger: TestDatabase.logger)
            try await store.migrate()
            let listener = try await PGConnection.connect(
                configuration: configuration, logger: TestDatabase.logger)
            try await listener.query("LISTEN \(identifier: channel)")

            let group = ServiceGroup(services: [store], logger: TestDatabase.logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                // Wake-ups are sent only once the store runs: wait for the group to start it.
                while !store.isRunning { try await Task.sleep(for: .milliseconds(5)) }
                var tally = try await store.loadOrDefault(Tally.self, id: "woken")
                tally.record(.added(1))
                try await store.save(&tally)
                var heard: [PGNotification] = []
                while heard.isEmpty { heard = try await listener.waitForNotifications(timeout: .seconds(1)) }
                #expect(heard.first?.channel == channel)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            await listener.close()
            #expect(!store.isRunning)
            // Shutdown closed the pool: it refuses work.
            #expect(pool.statistics.open == 0)
            await #expect(throws: PGError.self) { try await pool.withConnection { _ in } }
        }
    }

    @Test func aStoreRunsOnce() async throws {
        try await TestDatabase.withStore { store throws in
            // withStore runs the store's background work already.
            #expect(store.isRunning)
            let error = await #expect(throws: MireError.self) { try await store.run() }
            #expect(error?.code == .invalidOperation)
        }
    }
}
