import Foundation
import MirePQ
import MireTestSupport
import Testing

@Suite("Pool, transactions, cancellation, broken connections", .timeLimit(.minutes(3)))
struct PoolTests {
    @Test func transactionCommitsOnReturnAndRollsBackOnThrow() async throws {
        struct Boom: Error {}
        try await TestDatabase.withPool { pool throws in
            try await pool.withConnection { try await $0.query("CREATE TABLE t (v int8)") }
            try await pool.withTransaction { try await $0.query("INSERT INTO t VALUES (\(1))") }
            await #expect(throws: Boom.self) {
                try await pool.withTransaction { connection throws in
                    try await connection.query("INSERT INTO t VALUES (\(2))")
                    throw Boom()
                }
            }
            let values = try await pool.withConnection { connection throws in
                try await connection.query("SELECT v FROM t ORDER BY v").map { try $0.decode(Int64.self, at: 0) }
            }
            #expect(values == [1])
        }
    }

    @Test func transactionRollsBackWhenTheTaskIsCancelled() async throws {
        try await TestDatabase.withPool { pool throws in
            try await pool.withConnection { try await $0.query("CREATE TABLE t (v int8)") }
            let inserted = AsyncStream<Void>.makeStream()
            let task = Task {
                try await pool.withTransaction { connection throws in
                    try await connection.query("INSERT INTO t VALUES (\(1))")
                    inserted.continuation.yield()
                    try await connection.query("SELECT pg_sleep(30)")
                }
            }
            for await _ in inserted.stream { break }
            task.cancel()
            await #expect(throws: CancellationError.self) { try await task.value }
            let count = try await pool.withConnection {
                try await $0.query("SELECT count(*) FROM t").single(Int64.self)
            }
            #expect(count == 0)
        }
    }

    @Test func cancellingATaskCancelsItsQuery() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { connection throws in
                let pid = connection.backendPID
                let task = Task { try await connection.query("SELECT pg_sleep(30)") }
                // Wait until the server runs it, then cancel the task.
                let observer = try await PGConnection.connect(
                    configuration: pool.configuration, logger: TestDatabase.logger)
                while try await observer.query(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = \(pid) AND query LIKE 'SELECT pg_sleep%' AND state = 'active'"
                ).single(Int64.self) == 0 {
                    try await Task.sleep(for: .milliseconds(20))
                }
                task.cancel()
                await #expect(throws: CancellationError.self) { try await task.value }
                await observer.close()
                // The same connection is still good.
                #expect(try await connection.query("SELECT 5::int8").single(Int64.self) == 5)
                #expect(connection.isIdle)
            }
        }
    }

    /// A cancel that arrives just as a statement is being sent (before the server runs it) must
    /// still stop the statement: the request is repeated while the statement runs.
    @Test func cancellingRightAwayStillStopsALongStatement() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            for _ in 0..<10 {
                let task = Task { try await pool.withConnection { try await $0.query("SELECT pg_sleep(30)") } }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...3)))
                task.cancel()
                await #expect(throws: CancellationError.self) { try await task.value }
            }
        }
    }

    @Test func aCancelledTaskDoesNotStartAQuery() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            let task = Task {
                try await Task.sleep(for: .seconds(30))
                return try await pool.withConnection { try await $0.query("SELECT 1") }
            }
            task.cancel()
            await #expect(throws: CancellationError.self) { _ = try await task.value }
        }
    }

    @Test func killedBackendIsDiscardedAndThePoolRecovers() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            let pid = try await pool.withConnection { $0.backendPID }
            try await pool.withConnection { _ in }  // still the same idle connection
            let admin = try await PGConnection.connect(
                configuration: pool.configuration, logger: TestDatabase.logger)
            try await admin.query("SELECT pg_terminate_backend(\(pid), 5000)")  // returns once it is gone
            await admin.close()

            let lost = await #expect(throws: PGError.self) {
                try await pool.withConnection { try await $0.query("SELECT 1") }
            }
            #expect(lost?.code == .connectionLost)
            #expect(lost?.isRetryable == true)
            #expect(pool.statistics.open == 0)
            // The next caller gets a fresh connection.
            let newPID = try await pool.withConnection { connection throws -> Int32 in
                #expect(try await connection.query("SELECT 1::int8").single(Int64.self) == 1)
                return connection.backendPID
            }
            #expect(newPID != pid)
        }
    }

    @Test func exhaustedPoolMakesCallersWaitInOrder() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection {
                try await $0.query("CREATE TABLE log (n int8, at timestamptz DEFAULT clock_timestamp())")
            }
            let holding = AsyncStream<Void>.makeStream()
            let release = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await pool.withConnection { connection throws in
                    holding.continuation.yield()
                    for await _ in release.stream { break }
                    try await connection.query("INSERT INTO log (n) VALUES (\(0))")
                }
            }
            for await _ in holding.stream { break }
            var waiters: [Task<Void, any Error>] = []
            for n in 1...3 {
                let value = Int64(n)
                let waiter = Task<Void, any Error> {
                    try await pool.withConnection { connection throws in
                        _ = try await connection.query("INSERT INTO log (n) VALUES (\(value))")
                    }
                }
                waiters.append(waiter)
                while pool.statistics.waiting < n { try await Task.sleep(for: .milliseconds(5)) }
            }
            #expect(pool.statistics.waiting == 3)
            release.continuation.yield()
            try await holder.value
            for waiter in waiters { try await waiter.value }
            let order = try await pool.withConnection { connection throws in
                try await connection.query("SELECT n FROM log ORDER BY at").map { try $0.decode(Int64.self, at: 0) }
            }
            #expect(order == [0, 1, 2, 3])
            #expect(pool.statistics.open == 1)
        }
    }

    @Test func aWaitingCallerCanBeCancelled() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            let holding = AsyncStream<Void>.makeStream()
            let release = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await pool.withConnection { _ in
                    holding.continuation.yield()
                    for await _ in release.stream { break }
                }
            }
            for await _ in holding.stream { break }
            let waiter = Task { try await pool.withConnection { _ in } }
            while pool.statistics.waiting < 1 { try await Task.sleep(for: .milliseconds(5)) }
            waiter.cancel()
            await #expect(throws: CancellationError.self) { try await waiter.value }
            #expect(pool.statistics.waiting == 0)
            release.continuation.yield()
            try await holder.value
            try await pool.withConnection { _ in }  // the slot was not lost
        }
    }

    @Test func aTransactionLeftOpenIsRolledBack() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { connection throws in
                try await connection.query("CREATE TABLE t (v int8)")
                try await connection.query("BEGIN")
                try await connection.query("INSERT INTO t VALUES (\(1))")
            }
            let count = try await pool.withConnection {
                try await $0.query("SELECT count(*) FROM t").single(Int64.self)
            }
            #expect(count == 0)
        }
    }

    @Test func shutdownRefusesNewWork() async throws {
        let pool = PGPool(configuration: try await TestDatabase.configuration(), logger: TestDatabase.logger)
        try await pool.withConnection { _ in }
        await pool.shutdown()
        let error = await #expect(throws: PGError.self) { try await pool.withConnection { _ in } }
        #expect(error?.code == .poolClosed)
    }
}
