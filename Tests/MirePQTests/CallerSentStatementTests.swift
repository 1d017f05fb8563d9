import Foundation
import MireTestSupport
import Testing

@testable import MirePQ

/// Statements already prepared on their connection are sent by their caller and their replies
/// read by the event loop (`PGConnection.sendFromCaller`): the same outcomes as on the
/// connection's own thread — each reply to its own statement, cancellation, a lost connection
/// reported as possibly executed only where the statement could have committed by itself.
@Suite("Statements sent by their caller", .timeLimit(.minutes(3)))
struct CallerSentStatementTests {
    /// Waits until the backend `pid` runs a statement starting with `prefix`.
    private func waitUntilRunning(_ pid: Int32, _ prefix: String, configuration: PGConfiguration) async throws {
        let observer = try await PGConnection.connect(configuration: configuration, logger: TestDatabase.logger)
        while try await observer.query(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = \(pid) AND query LIKE \(prefix + "%") AND state = 'active'"
        ).single(Int64.self) == 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        await observer.close()
    }

    /// Prepares `SELECT pg_sleep($1), tag`, then runs it for `seconds` in a task (sent by the
    /// caller) and returns once the server runs it.
    private func sleeping(
        _ seconds: Double, tagged tag: String, on connection: PGConnection, configuration: PGConfiguration
    ) async throws -> Task<PGRows, any Error> {
        _ = try await connection.query("SELECT pg_sleep(\(0.0)), \(tag)", prepared: true)
        let task = Task { try await connection.query("SELECT pg_sleep(\(seconds)), \(tag)", prepared: true) }
        try await waitUntilRunning(connection.backendPID, "SELECT pg_sleep", configuration: configuration)
        return task
    }

    @Test func aPreparedStatementIsReadByTheEventLoopOnceItIsPrepared() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { connection throws in
                // The first run prepares it (on the connection's thread), the others are sent.
                _ = try await connection.query("SELECT \(Int64(0))::int8 + 1", prepared: true)
                let before = PGEventLoop.shared.repliesRead.load(ordering: .relaxed)
                for value in Int64(1)...20 {
                    #expect(
                        try await connection.query("SELECT \(value)::int8 + 1", prepared: true).single(Int64.self)
                            == value + 1)
                }
                // Other suites may send statements meanwhile: at least these twenty were read there.
                #expect(PGEventLoop.shared.repliesRead.load(ordering: .relaxed) - before >= 20)
            }
        }
    }

    @Test func statementsFromManyTasksOnOneConnectionEachGetTheirOwnReply() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { connection throws in
                _ = try await connection.query("SELECT \(Int64(0))::int8 * 2", prepared: true)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for value in Int64(1)...200 {
                        group.addTask {
                            // Sent by the caller, run on the connection's thread, and pipelined: all
                            // three share the connection and must never swap replies.
                            switch value % 3 {
                            case 0:
                                let doubled = try await connection.query("SELECT \(value)::int8 * 2", prepared: true)
                                #expect(try doubled.single(Int64.self) == value * 2)
                            case 1:
                                let doubled = try await connection.query("SELECT \(value)::int8 * 2")
                                #expect(try doubled.single(Int64.self) == value * 2)
                            default:
                                let rows = try await connection.pipeline([
                                    "SELECT \(value)::int8 * 2", "SELECT \(value)::int8 * 3",
                                ])
                                #expect(try rows.map { try $0.single(Int64.self) } == [value * 2, value * 3])
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(connection.isIdle)
            }
        }
    }

    /// An error at Sync (a deferred constraint failing at commit) comes after the statement's
    /// own result: the statement failed and nothing is stored.
    @Test func aSentStatementRefusedAtCommitFailsAndStoresNothing() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { connection throws in
                try await connection.executeScript(
                    """
                    CREATE TABLE checked (v int8);
                    CREATE FUNCTION refuse_negative() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN
                        IF NEW.v < 0 THEN RAISE EXCEPTION 'refused at commit'; END IF;
                        RETURN NULL;
                    END $$;
                    CREATE CONSTRAINT TRIGGER refuse_negative AFTER INSERT ON checked
                        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_negative();
                    """)
                let insert = { (value: Int64) -> PGQuery in "INSERT INTO checked VALUES (\(value)) RETURNING v" }
                #expect(try await connection.query(insert(1), prepared: true).single(Int64.self) == 1)
                let sentBefore = PGEventLoop.shared.repliesRead.load(ordering: .relaxed)
                await #expect(throws: PGError.self) { try await connection.query(insert(-1), prepared: true) }
                #expect(PGEventLoop.shared.repliesRead.load(ordering: .relaxed) > sentBefore)
                #expect(try await connection.query(insert(2), prepared: true).single(Int64.self) == 2)
                let stored = try await connection.query("SELECT v FROM checked ORDER BY v").map {
                    try $0.decode(Int64.self, at: 0)
                }
                #expect(stored == [1, 2])
            }
        }
    }

    @Test func cancellingASentStatementStopsItAndLeavesTheConnectionUsable() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { connection throws in
                let task = try await sleeping(30, tagged: "sent", on: connection, configuration: pool.configuration)
                task.cancel()
                await #expect(throws: CancellationError.self) { try await task.value }
                let rows = try await connection.query("SELECT pg_sleep(\(0.0)), \("sent")", prepared: true)
                #expect(try rows[0].decode(String.self, at: 1) == "sent")
                #expect(connection.isIdle)
            }
        }
    }

    /// Two tasks share a connection: cancelling the one still waiting for it must not cancel the
    /// statement of the one running (tickets are taken when a statement starts, not when its
    /// call does).
    @Test func cancellingAWaitingCallLeavesTheRunningStatementOfAnotherAlone() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { connection throws in
                let running = try await sleeping(
                    1.5, tagged: "running", on: connection, configuration: pool.configuration)
                let waiting = Task { try await connection.query("SELECT 'waiting'") }
                // Let the waiting call reach the connection before it is cancelled.
                try await Task.sleep(for: .milliseconds(100))
                waiting.cancel()
                await #expect(throws: CancellationError.self) { try await waiting.value }
                #expect(try await running.value[0].decode(String.self, at: 1) == "running")
                #expect(connection.isIdle)
            }
        }
    }

    @Test func aConnectionLostUnderASentStatementMayHaveExecutedOnlyOutsideATransaction() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            let admin = try await PGConnection.connect(configuration: pool.configuration, logger: TestDatabase.logger)
            for insideATransaction in [false, true] {
                let connection = try await PGConnection.connect(
                    configuration: pool.configuration, logger: TestDatabase.logger)
                _ = try await connection.query("SELECT pg_sleep(\(0.0))", prepared: true)
                let pid = connection.backendPID
                let outcome = Task { () -> PGError? in
                    do {
                        if insideATransaction {
                            try await connection.withTransaction { connection in
                                try await connection.query("SELECT 1")  // BEGIN goes out with this one
                                try await connection.query("SELECT pg_sleep(\(30.0))", prepared: true)
                            }
                        } else {
                            try await connection.query("SELECT pg_sleep(\(30.0))", prepared: true)
                        }
                        return nil
                    } catch let error as PGError {
                        return error
                    }
                }
                try await waitUntilRunning(pid, "SELECT pg_sleep", configuration: pool.configuration)
                _ = try await admin.query("SELECT pg_terminate_backend(\(pid), 5000)")
                let error = try #require(await outcome.value)
                #expect(error.code == .connectionLost)
                #expect(error.mayHaveExecuted == !insideATransaction, "inside a transaction: \(insideATransaction)")
                // Closed, never reused.
                #expect(await connection.isBroken)
            }
            await admin.close()
        }
    }
}
