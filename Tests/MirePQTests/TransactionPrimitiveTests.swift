import MireTestSupport
import Testing

@testable import MirePQ

/// The one transaction primitive: lazy BEGIN, bounded settings, COMMIT's outcome.
@Suite("Transaction primitive", .timeLimit(.minutes(2)))
struct TransactionPrimitiveTests {
    @Test func beginTravelsWithTheFirstStatementAndSettingsApply() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            let options = PGTransactionOptions(
                isolationLevel: .repeatableRead, lockTimeout: .milliseconds(1500),
                statementTimeout: .seconds(7), idleInTransactionTimeout: .seconds(9))
            let seen = try await pool.withTransaction(options) { connection in
                try await connection.query(
                    """
                    SELECT current_setting('transaction_isolation'), current_setting('lock_timeout'),
                           current_setting('statement_timeout'), current_setting('idle_in_transaction_session_timeout')
                    """
                ).first.map { try $0.decode((String, String, String, String).self) }
            }
            #expect(seen?.0 == "repeatable read")
            #expect(seen?.1 == "1500ms")
            #expect(seen?.2 == "7s")
            #expect(seen?.3 == "9s")
            // SET LOCAL: nothing leaks past the transaction.
            let after = try await pool.withConnection {
                try await $0.query("SELECT current_setting('lock_timeout')").single(String.self)
            }
            #expect(after == "0")
        }
    }

    @Test func aScopeThatSendsNothingOpensNoTransaction() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            let value = try await pool.withTransaction { _ in 42 }
            #expect(value == 42)
            let idle = try await pool.withConnection { $0.isIdle }
            #expect(idle)
        }
    }

    @Test func commitOfAFailedTransactionIsAnErrorNotASilentRollback() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { try await $0.query("CREATE TABLE t (v int8 PRIMARY KEY)") }
            let error = await #expect(throws: PGError.self) {
                try await pool.withTransaction { connection in
                    try await connection.query("INSERT INTO t VALUES (1)")
                    _ = try? await connection.query("INSERT INTO t VALUES (1)")  // fails; swallowed
                }
            }
            #expect(error?.sqlState == "25P02")
            let count = try await pool.withConnection {
                try await $0.query("SELECT count(*) FROM t").single(Int64.self)
            }
            #expect(count == 0)
        }
    }

    @Test func aLostCommitReplyIsCommitOutcomeUnknown() async throws {
        try await TestDatabase.withSchema { configuration throws in
            let proxy = try FaultProxy(upstream: configuration)
            defer { proxy.stop() }
            let pool = PGPool(
                configuration: proxy.configuration, maximumConnections: 1, logger: TestDatabase.logger)
            try await pool.withConnection { try await $0.query("CREATE TABLE t (v int8)") }
            proxy.arm(.dropReply, whenStatementIs: "COMMIT", alone: true)
            let error = await #expect(throws: PGError.self) {
                try await pool.withTransaction { connection in try await connection.query("INSERT INTO t VALUES (1)") }
            }
            #expect(error?.code == .commitOutcomeUnknown)
            #expect(error?.isRetryable == false)
            #expect(error?.backendPID != nil)
            // It did commit; the pool replaced the lost connection.
            let count = try await pool.withConnection {
                try await $0.query("SELECT count(*) FROM t").single(Int64.self)
            }
            #expect(count == 1)
            await pool.shutdown()
        }
    }

    @Test func aTerminatedBackendIsALostConnectionAndRetryable() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            let pid = try await pool.withConnection { $0.backendPID }
            try await TestDatabase.withAdminConnection { admin in
                _ = try await admin.query("SELECT pg_terminate_backend(\(pid), 5000)")
            }
            let error = await #expect(throws: PGError.self) {
                try await pool.withConnection { try await $0.query("SELECT 1") }
            }
            #expect(error?.code == .connectionLost)
            #expect(error?.isRetryable == true, "\(error.map { $0.debugDescription } ?? "")")
            #expect(try await pool.withConnection { try await $0.query("SELECT 2::int8").single(Int64.self) } == 2)
        }
    }
}
