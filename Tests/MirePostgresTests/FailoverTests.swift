import Foundation
import MireLocalServer
import MirePQ
import MirePostgres
import MireTestSupport
import Testing

@Suite("Failover to a promoted standby", .timeLimit(.minutes(3)))
struct FailoverTests {
    @Test func savesReachThePromotedStandbyAndNoAcknowledgedSaveIsLost() async throws {
        try await withStoreOnSynchronousPair(maximumConnections: 2) { store, primaryPair, standbyPair in
            let primary = primaryPair.server
            let standby = standbyPair.server
            let patient = RetryPolicy(
                maximumAttempts: 60, baseDelay: .milliseconds(50), maximumDelay: .milliseconds(500))

            var acknowledged: [Int64] = []
            for value in Int64(1)...20 {
                try await store.update(Numbers.self, id: "c", retry: patient) { $0.record(.counted(value)) }
                acknowledged.append(value)
            }
            // The primary goes away; the standby is promoted; the same pool carries on.
            try await primary.shutDown()
            try await standby.promote()
            for value in Int64(21)...40 {
                try await store.update(Numbers.self, id: "c", retry: patient) { $0.record(.counted(value)) }
                acknowledged.append(value)
            }
            let counter = try #require(try await store.load(Numbers.self, id: "c"))
            #expect(counter.state.values == acknowledged, "every acknowledged save, once, in order")
            #expect(counter.version == 40)
        }
    }

    @Test func thePoolDropsConnectionsToAServerThatStoppedTakingWritesAndSavesGoOnElsewhere() async throws {
        try await withStoreOnSynchronousPair(maximumConnections: 4) { store, primaryPair, standbyPair in
            let (primaryConfiguration, standby, standbyConfiguration) =
                (primaryPair.configuration, standbyPair.server, standbyPair.configuration)
            let pool = store.pool
            for value in Int64(1)...10 {
                try await store.update(Numbers.self, id: "c") { $0.record(.counted(value)) }
            }
            // Four connections to the old primary, idle in the pool.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        _ = try await store.pool.withConnection { connection in
                            try await connection.query("SELECT pg_sleep(0.05)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(pool.statistics.open == 4, "the pool holds four connections to the old primary")

            // The old primary is fenced (still up, but read-only), the standby promoted.
            let fence = try await PGConnection.connect(
                configuration: primaryConfiguration, logger: TestDatabase.logger)
            try await fence.query("ALTER SYSTEM SET default_transaction_read_only = on")
            try await fence.query("SELECT pg_reload_conf()")
            // The reload reaches each backend by a signal, asynchronously.
            for _ in 0..<200 {
                if try await fence.query("SHOW default_transaction_read_only").single(String.self) == "on" { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            let refused = await #expect(throws: PGError.self) {
                try await fence.query("CREATE TABLE refused (v int)")
            }
            #expect(refused?.code == .readOnlyServer)
            await fence.close()
            try await standby.promote()

            // The first save refused by the fenced server retires every connection opened
            // before it: the retry (two attempts in all, fewer than the pool's four stale
            // connections) reaches the promoted server.
            let retry = RetryPolicy(
                maximumAttempts: 2, baseDelay: .milliseconds(10), maximumDelay: .milliseconds(50))
            for value in Int64(11)...20 {
                try await store.update(Numbers.self, id: "c", retry: retry) { $0.record(.counted(value)) }
            }
            let counter = try #require(try await store.load(Numbers.self, id: "c"))
            #expect(counter.state.values == Array(1...20))

            let promoted = try await PGConnection.connect(
                configuration: standbyConfiguration, logger: TestDatabase.logger)
            let stored = try await promoted.query("SELECT count(*) FROM mire_events").single(Int64.self)
            await promoted.close()
            #expect(stored == 20, "every save after the fence went to the promoted server")
            #expect(pool.statistics.open <= 2, "no connection to the fenced server is left: \(pool.statistics)")
        }
    }
}
