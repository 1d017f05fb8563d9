import Foundation
import MireProjections
import MireTestSupport
import Testing

@Suite("Lease and fence token", .timeLimit(.minutes(3)))
struct LeaseTests {
    @Test func theLeaseProtocol() async throws {
        try await TestDatabase.withStore { store throws in
            let leases = ProjectionLeases(pool: store.pool)
            let first = try #require(try await leases.acquire("p", workerID: "w1", ttl: .seconds(2)))
            #expect(first.fenceToken == 1)
            // Held while valid: another worker is refused.
            #expect(try await leases.acquire("p", workerID: "w2", ttl: .seconds(1)) == nil)
            #expect(try await leases.heartbeat(first, ttl: .milliseconds(400)))
            #expect(try await leases.status("p").holder == "w1")
            #expect(try await leases.status("p").isLeased)

            // After expiry another worker takes over with a higher token.
            try await Task.sleep(for: .milliseconds(600))
            let second = try #require(try await leases.acquire("p", workerID: "w2", ttl: .seconds(5)))
            #expect(second.fenceToken == 2)
            // The stale worker: its heartbeat reports fenced, its checkpoint changes nothing.
            #expect(try await leases.heartbeat(first, ttl: .seconds(1)) == false)
            let stale = Checkpoint(cursor: .init(transactionID: 999, position: 999))
            let staleWrote = try await store.pool.withConnection {
                try await leases.checkpoint(first, from: Checkpoint(), to: stale, handled: 1, on: $0)
            }
            #expect(staleWrote == .fenced)
            #expect(try await leases.checkpoint(of: "p") == Checkpoint())
            // The current holder's checkpoint lands.
            let current = Checkpoint(cursor: .init(transactionID: 5, position: 7), deliveredAhead: [9])
            let wrote = try await store.pool.withConnection {
                try await leases.checkpoint(second, from: Checkpoint(), to: current, handled: 2, on: $0)
            }
            #expect(wrote == .written)
            #expect(try await leases.checkpoint(of: "p") == current)
            // The same delivery again (its reply lost, say): the checkpoint moved already, so
            // it changes nothing and says so.
            let again = try await store.pool.withConnection {
                try await leases.checkpoint(second, from: Checkpoint(), to: current, handled: 2, on: $0)
            }
            #expect(again == .moved)

            // Release allows an immediate takeover.
            try await leases.release(second)
            let third = try #require(try await leases.acquire("p", workerID: "w3", ttl: .seconds(5)))
            #expect(third.fenceToken == 3)
            #expect(try await leases.status("p").eventsHandled == 2)
        }
    }

    @Test func aStaleWorkersTransactionalWritesRollBack() async throws {
        try await TestDatabase.withStore { store throws in
            try await store.pool.withConnection { try await $0.query("CREATE TABLE read_model (v int8)") }
            let leases = ProjectionLeases(pool: store.pool)
            let stale = try #require(try await leases.acquire("p", workerID: "w1", ttl: .milliseconds(100)))
            try await Task.sleep(for: .milliseconds(200))
            _ = try #require(try await leases.acquire("p", workerID: "w2", ttl: .seconds(5)))
            struct Fenced: Error {}
            await #expect(throws: Fenced.self) {
                try await store.pool.withTransaction { connection in
                    try await connection.query("INSERT INTO read_model VALUES (\(Int64(1)))")
                    guard
                        try await leases.checkpoint(
                            stale, from: Checkpoint(), to: Checkpoint(cursor: .init(transactionID: 1, position: 1)),
                            handled: 1, on: connection) == .written
                    else { throw Fenced() }
                }
            }
            #expect(
                try await store.pool.withConnection {
                    try await $0.query("SELECT count(*) FROM read_model").single(Int64.self)
                } == 0)
        }
    }

    @Test func exactlyOneRunnerDrivesAProjectionAndAnotherTakesOver() async throws {
        try await TestDatabase.withStore(maximumConnections: 8) { store throws in
            let seen = Seen()
            let projection = Projection(name: "shared", category: "tally", delivery: .transactional) { event, _ in
                seen.append(event)
            }
            let one = ProjectionRunner(
                store: store, projections: [projection],
                configuration: testConfiguration("one", ttl: .milliseconds(600)), logger: TestDatabase.logger)
            let two = ProjectionRunner(
                store: store, projections: [projection],
                configuration: testConfiguration("two", ttl: .milliseconds(600)), logger: TestDatabase.logger)
            let tasks = ["one": Task { try await one.run() }, "two": Task { try await two.run() }]

            var tally = try await store.loadOrDefault(Tally.self, id: "t")
            tally.record(.added(1))
            let saved = try await store.save(&tally)
            try await one.waitUntilCaughtUp("shared", to: saved.positions[0], timeout: .seconds(25))
            let leader = try #require(try await one.status("shared").holder)
            let follower = leader == "one" ? "two" : "one"
            let followerRunner = leader == "one" ? two : one

            // The leader stops (graceful: it releases); the other takes over.
            tasks[leader]!.cancel()
            try await tasks[leader]!.value
            tally.record(.added(2))
            let more = try await store.save(&tally)
            try await followerRunner.waitUntilCaughtUp("shared", to: more.positions[0], timeout: .seconds(25))
            let status = try await followerRunner.status("shared")
            #expect(status.holder == follower)
            #expect(status.fenceToken >= 2)
            #expect(seen.all.map(\.version) == [1, 2])
            tasks[follower]!.cancel()
            try await tasks[follower]!.value
        }
    }
}
