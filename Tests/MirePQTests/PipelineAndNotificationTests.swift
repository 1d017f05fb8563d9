import Foundation
import MirePQ
import MireTestSupport
import Testing

@Suite("Pipeline mode and LISTEN/NOTIFY", .timeLimit(.minutes(3)))
struct PipelineAndNotificationTests {
    @Test func pipelineSendsABatchAndReturnsEachResult() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { connection throws in
                try await connection.query("CREATE TABLE t (v int8)")
                var batch: [PGQuery] = (1...500).map { "INSERT INTO t VALUES (\(Int64($0)))" }
                batch.append("SELECT count(*), sum(v)::int8 FROM t")
                let results = try await connection.pipeline(batch)
                #expect(results.count == 501)
                #expect(results[0].affectedRows == 1)
                let (count, sum) = try results[500][0].decode((Int64, Int64).self)
                #expect(count == 500)
                #expect(sum == 500 * 501 / 2)
                // The connection is back in normal mode.
                #expect(try await connection.query("SELECT 1::int8").single(Int64.self) == 1)
            }
        }
    }

    @Test func aBatchLargerThanTheSocketBuffersBothWaysNeitherDeadlocksNorMixesResults() async throws {
        // 200 statements of 64 KB each way: the batch is sent as one flush after the sync, so
        // the server's replies fill the socket while the client is still sending.
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { connection throws in
                let texts = (0..<200).map {
                    String(repeating: Character(UnicodeScalar(UInt8(65 + $0 % 26))), count: 65_536) + "\($0)"
                }
                let results = try await connection.pipeline(texts.map { "SELECT \($0)::text" })
                #expect(results.count == 200)
                for (index, rows) in results.enumerated() {
                    #expect(try rows.single(String.self) == texts[index], "statement \(index)")
                }
                #expect(try await connection.query("SELECT 1::int8").single(Int64.self) == 1)
            }
        }
    }

    @Test func aFailingStatementAbortsThePipelineBatch() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { connection throws in
                try await connection.query("CREATE TABLE t (v int8 PRIMARY KEY)")
                let error = await #expect(throws: PGError.self) {
                    try await connection.pipeline([
                        "INSERT INTO t VALUES (\(Int64(1)))",
                        "INSERT INTO t VALUES (\(Int64(1)))",
                        "INSERT INTO t VALUES (\(Int64(2)))",
                    ])
                }
                #expect(error?.isUniqueViolation == true)
                // One sync = one implicit transaction: nothing of the batch stays.
                #expect(try await connection.query("SELECT count(*) FROM t").single(Int64.self) == 0)
                #expect(connection.isIdle)
            }
        }
    }

    @Test func listenerDeliversAndListensAgainAfterItsBackendIsKilled() async throws {
        var configuration = try await TestDatabase.configuration()
        let channel = "mire_test_" + UUID().uuidString.prefix(8).lowercased()
        configuration.applicationName = channel  // to find the listener's backend
        let listener = PGListener(
            configuration: configuration, channels: [channel], pollInterval: .milliseconds(50),
            reconnectDelay: .milliseconds(50), logger: TestDatabase.logger
        )
        let sender = try await PGConnection.connect(
            configuration: try await TestDatabase.configuration(), logger: TestDatabase.logger)
        let running = Task { try await listener.run() }
        var iterator = listener.notifications.makeAsyncIterator()

        /// Sends `payload` every 50 ms until the listener yields it (NOTIFY before LISTEN is lost).
        func deliver(_ payload: String) async throws -> PGNotification? {
            let sending = Task {
                while !Task.isCancelled {
                    try await sender.query("SELECT pg_notify(\(channel), \(payload))")
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            defer { sending.cancel() }
            while let notification = await iterator.next() {
                if notification.payload == payload { return notification }
            }
            return nil
        }

        let first = try await deliver("first ü")
        #expect(first?.channel == channel)
        #expect(first?.senderPID == (sender.backendPID))
        #expect(listener.listeningSessions == 1)

        try await sender.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = \(channel)")
        let second = try await deliver("after reconnect")
        #expect(second?.payload == "after reconnect")
        #expect(listener.listeningSessions >= 2)

        running.cancel()
        try await running.value
        await sender.close()
    }
}
