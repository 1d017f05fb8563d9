import Foundation
import MirePQ
import MirePostgres
import MireProjections
import MireTestSupport
import ServiceLifecycle
import Testing

/// A runner in a `ServiceGroup`: what no retry can fix ends the group, with the error.
@Suite("Projection runner lifecycle")
struct RunnerLifecycleTests {
    @Test(.timeLimit(.minutes(1))) func aRunnerOnAnUnmigratedDatabaseFailsItsServiceGroup() async throws {
        try await TestDatabase.withPool { pool in
            // No migrate(): the lease and checkpoint tables do not exist.
            let store = EventStore(pool: pool, configuration: .init(wakeUpChannel: nil), logger: TestDatabase.logger)
            let projection = Projection(name: "orphan", category: "tally", delivery: .plain) { _, _ in }
            let runner = ProjectionRunner(
                store: store, projections: [projection], configuration: testConfiguration("lost"),
                logger: TestDatabase.logger)
            let group = ServiceGroup(services: [runner], logger: TestDatabase.logger)
            let error = await #expect(throws: (any Error).self) { try await group.run() }
            let database = (error as? PGError) ?? ((error as? MireError)?.underlying as? PGError)
            #expect(database?.sqlState == "42P01", "\(String(describing: error))")  // undefined_table
        }
    }

    @Test(.timeLimit(.minutes(1))) func gracefulShutdownEndsARunnerWithoutAnError() async throws {
        try await TestDatabase.withStore { store throws in
            let projection = Projection(name: "calm", category: "tally", delivery: .plain) { _, _ in }
            let runner = ProjectionRunner(
                store: store, projections: [projection], configuration: testConfiguration("calm"),
                logger: TestDatabase.logger)
            let group = ServiceGroup(services: [runner], logger: TestDatabase.logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                // Wait for the runner to hold its lease, then shut down.
                while try await !runner.status("calm").isLeased {
                    try await Task.sleep(for: .milliseconds(20))
                }
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
            }
            // The lease was released for another worker.
            #expect(try await !runner.status("calm").isLeased)
        }
    }
}
