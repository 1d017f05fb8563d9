import Foundation
import Logging
import MirePQ
import MireTestSupport
import Synchronization
import Testing

@Suite("Queries, errors and notices", .timeLimit(.minutes(3)))
struct QueryTests {
    @Test func interpolatedValuesAreBoundNotSpliced() async throws {
        let attack = "Robert'); DROP TABLE students; --"
        let query: PGQuery = "INSERT INTO students (name) VALUES (\(attack))"
        #expect(query.sql == "INSERT INTO students (name) VALUES ($1)")
        #expect(query.bindings.count == 1)
        try await TestDatabase.withPool { pool throws in
            try await pool.withConnection { connection throws in
                try await connection.query("CREATE TABLE students (name text)")
                try await connection.query(query)
                let names = try await connection.query("SELECT name FROM students").map {
                    try $0.decode(String.self, at: 0)
                }
                #expect(names == [attack])
                #expect(try await connection.query("SELECT count(*) FROM students").single(Int64.self) == 1)
            }
        }
    }

    /// The per-column reader loads use reads what `decode` reads, and fails as it does.
    @Test func columnReadsMatchDecodeAndFailTheSameWay() async throws {
        try await TestDatabase.withPool { pool throws in
            try await pool.withConnection { connection throws in
                let rows = try await connection.query(
                    """
                    SELECT * FROM (VALUES
                        (1::int8, 2::int4, 3::int2, 'ab'::text, NULL::int8),
                        (-258::int8, -1::int4, 7::int2, ''::text, 5::int8),
                        (9223372036854775807::int8, 2147483647::int4, (-32768)::int2, 'x'::text, NULL::int8)
                    ) AS v(a, b, c, d, e)
                    """)
                expectReadsMatchDecode(rows, columns: 0..<5, as: Int64.self) { try $0.int64(row: $1) }
                expectReadsMatchDecode(rows, columns: 0..<5, as: Int32.self) { try $0.int32(row: $1) }
                for row in rows.indices {
                    let text = try PGBinaryColumn(rows, 3).unsafeBytes(row: row).map {
                        String(decoding: $0, as: UTF8.self)
                    }
                    #expect(text == (try rows[row].decode(String.self, at: 3)))
                }
                #expect(try PGBinaryColumn(rows, 4).unsafeBytes(row: 0) == nil)
                #expect(try PGBinaryColumn(rows, 4).unsafeBytes(row: 1)?.count == 8)
                #expect(
                    outcome { try PGBinaryColumn(rows, 9).int64(row: 0) }
                        == outcome { try rows[0].decode(Int64.self, at: 9) })
                #expect(throws: PGError.self) { try PGBinaryColumn(rows, 9).unsafeBytes(row: 0) }
                #expect(throws: PGError.self) { try PGBinaryColumn(rows, 3).unsafeBytes(row: 3) }
                #expect(throws: PGError.self) { try PGBinaryColumn(rows, 3).unsafeBytes(row: -1) }
                // A row that does not exist is refused by every reader alike, before libpq sees it.
                for row in [3, -1] {
                    let messages = [
                        outcome { try rows[row].decode(Int64.self, at: 0) },
                        outcome { try rows[row].decode(Int64?.self, at: 0) },
                        outcome { try PGBinaryColumn(rows, 0).int64(row: row) },
                        outcome { try PGBinaryColumn(rows, 3).unsafeBytes(row: row) as Any },
                    ]
                    for message in messages { #expect(message.contains("no row at index \(row)"), "\(message)") }
                }
            }
        }
    }

    /// The `xid8` and `bool` column readers the save's result uses read what `decode` reads, and
    /// fail as it does (NULL, another type, a missing column).
    @Test func transactionIDAndBoolColumnReadsMatchDecode() async throws {
        try await TestDatabase.withPool { pool throws in
            try await pool.withConnection { connection throws in
                let rows = try await connection.query(
                    """
                    SELECT * FROM (VALUES
                        ('18446744073709551615'::xid8, true, NULL::xid8, NULL::bool, 1::int8),
                        (pg_current_xact_id(), false, '7'::xid8, true, 2::int8)
                    ) AS v(a, b, c, d, e)
                    """)
                expectReadsMatchDecode(rows, columns: 0..<6, as: PGTransactionID.self) { try $0.transactionID(row: $1) }
                expectReadsMatchDecode(rows, columns: 0..<6, as: Bool.self) { try $0.bool(row: $1) }
                #expect(try PGBinaryColumn(rows, 0).transactionID(row: 0) == PGTransactionID(.max))
                #expect(try PGBinaryColumn(rows, 1).bool(row: 0) == true)
                #expect(try PGBinaryColumn(rows, 1).bool(row: 1) == false)
            }
        }
    }

    /// Rows outlive their connection: reading them afterwards, even wrongly, touches nothing the
    /// connection freed (libpq reports misuse through the notice receiver it copied from it).
    @Test func rowsReadAfterTheirConnectionClosedAreSafe() async throws {
        var connection: PGConnection? = try await PGConnection.connect(
            configuration: TestDatabase.configuration(), logger: TestDatabase.logger)
        let rows = try await connection!.query("SELECT 7::int8, 'x'::text")
        await connection!.close()
        connection = nil
        #expect(try rows[0].decode(Int64.self, at: 0) == 7)
        #expect(throws: PGError.self) { try rows[5].decode(Int64.self, at: 0) }
        #expect(throws: PGError.self) { try rows[0].decode(Int64.self, at: 9) }
        #expect(try PGBinaryColumn(rows, 1).unsafeBytes(row: 0)?.count == 1)
    }

    @Test func optionalValuesBindAsValueOrNull() {
        let present: String? = "x"
        let absent: String? = nil
        let query: PGQuery = "SELECT \(present), \(absent)"
        #expect(query.sql == "SELECT $1, $2")
        #expect(query.bindings.values == [Array("x".utf8), nil])
        #expect(query.bindings.types == [PGDataType.text.oid, PGDataType.text.oid])
    }

    @Test func identifiersAreQuoted() {
        let query: PGQuery = "SELECT * FROM \(identifier: #"we"ird"#)"
        #expect(query.sql == #"SELECT * FROM "we""ird""#)
    }

    @Test func serverErrorsCarryTheirFields() async throws {
        try await TestDatabase.withPool { pool throws in
            try await pool.withConnection { connection throws in
                try await connection.query("CREATE TABLE accounts (id text CONSTRAINT accounts_pk PRIMARY KEY)")
                try await connection.query("INSERT INTO accounts VALUES (\("secret-id"))")
                let error = await #expect(throws: PGError.self) {
                    try await connection.query("INSERT INTO accounts VALUES (\("secret-id"))")
                }
                #expect(error?.isUniqueViolation == true)
                #expect(error?.sqlState == "23505")
                #expect(error?.constraint == "accounts_pk")
                #expect(error?.detail?.contains("secret-id") == true)
                #expect(error?.isRetryable == false)
                // description is generic: no SQL, no data; debugDescription has it all.
                #expect(error?.description.contains("secret-id") == false)
                #expect(error?.description.contains("INSERT") == false)
                #expect(error?.debugDescription.contains("secret-id") == true)
                #expect(error?.debugDescription.contains("INSERT INTO accounts") == true)

                let syntax = await #expect(throws: PGError.self) { try await connection.query("SELEC 1") }
                #expect(syntax?.sqlState == "42601")
                let lock = await #expect(throws: PGError.self) {
                    try await connection.query(
                        "DO $$ BEGIN RAISE EXCEPTION 'busy' USING ERRCODE = '55P03', HINT = 'wait'; END $$")
                }
                #expect(lock?.isLockNotAvailable == true)
                #expect(lock?.hint == "wait")
                // The connection stays usable after errors.
                #expect(try await connection.query("SELECT 1::int8").single(Int64.self) == 1)
            }
        }
    }

    @Test func retryableHelpers() {
        #expect(PGError(code: .server, sqlState: "40001", message: "").isSerializationFailure)
        #expect(PGError(code: .server, sqlState: "40001", message: "").isRetryable)
        #expect(PGError(code: .server, sqlState: "40P01", message: "").isDeadlock)
        #expect(PGError(code: .connectionLost, message: "").isRetryable)
        #expect(!PGError(code: .server, sqlState: "23505", message: "").isRetryable)
    }

    @Test func connectionFailuresAreClear() async throws {
        let base = try await TestDatabase.configuration()
        var unknownDatabase = base
        unknownDatabase.keywords["dbname"] = "no_such_database"
        let missing = await #expect(throws: PGError.self) {
            _ = try await PGConnection.connect(configuration: unknownDatabase, logger: TestDatabase.logger)
        }
        #expect(missing?.code == .connectionFailed)
        #expect(missing?.message.contains("no_such_database") == true)

        var unknownUser = base
        unknownUser.keywords["user"] = "no_such_user"
        let user = await #expect(throws: PGError.self) {
            _ = try await PGConnection.connect(configuration: unknownUser, logger: TestDatabase.logger)
        }
        #expect(user?.code == .connectionFailed)
        #expect(user?.message.contains("no_such_user") == true)

        let unreachable = PGConfiguration(url: "postgresql://postgres@127.0.0.1:1/postgres")
        let refused = await #expect(throws: PGError.self) {
            _ = try await PGConnection.connect(configuration: unreachable, logger: TestDatabase.logger)
        }
        #expect(refused?.code == .connectionFailed)
        #expect(refused?.isRetryable == true)
    }

    @Test func urlConfigurationAndApplicationName() async throws {
        let base = try await TestDatabase.configuration()
        let host = try #require(base.keywords["host"], "the test server is configured by keywords")
        let port = try #require(base.keywords["port"])
        let url = "postgresql://postgres@\(host):\(port)/postgres?application_name=ignored"
        let connection = try await PGConnection.connect(
            configuration: PGConfiguration(url: url, applicationName: "mire-url-test"),
            logger: TestDatabase.logger
        )
        #expect(try await connection.query("SHOW application_name").single(String.self) == "mire-url-test")
        await connection.close()
        let closed = await #expect(throws: PGError.self) { try await connection.query("SELECT 1") }
        #expect(closed?.code == .connectionLost)
    }

    @Test func passwordsAreNotPrinted() {
        let url = PGConfiguration(url: "postgresql://app:hunter2@db:5432/bank")
        #expect(!url.description.contains("hunter2"))
        for text in [
            "host=db user=app password=ab dbname=bank", "host=db password='two words' dbname=bank",
            "postgresql://app@db/bank?password=s3cret&sslmode=disable",
        ] {
            let shown = PGConfiguration(url: text).description
            #expect(
                !shown.contains("ab dbname") && !shown.contains("two words") && !shown.contains("s3cret"), "\(shown)")
        }
        let keywords = PGConfiguration(host: "db", user: "app", password: "hunter2", database: "bank")
        #expect(!keywords.description.contains("hunter2"))
    }

    @Test func aPasswordWithAnUnencodedAtSignNeverReachesAnError() async throws {
        // libpq reads the user info up to the first '@': the rest of the password becomes the
        // host name, which its error message then quotes.
        let configuration = PGConfiguration(url: "postgresql://app:s3cr@tPassw0rd@127.0.0.1:1/bank")
        let error = await #expect(throws: (any Error).self) {
            _ = try await PGConnection.connect(configuration: configuration, logger: TestDatabase.logger)
        }
        let texts = ["\(error.map { "\($0)" } ?? "")", (error as? PGError)?.debugDescription ?? ""]
        for text in texts {
            #expect(!text.contains("tPassw0rd"), "\(text)")
            #expect(!text.contains("s3cr"), "\(text)")
        }
    }

    @Test func preparedStatementsAreReused() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { connection throws in
                for value in 1...3 {
                    let doubled = try await connection.query("SELECT \(Int64(value)) * 2", prepared: true).single(
                        Int64.self)
                    #expect(doubled == Int64(value) * 2)
                }
                let prepared = try await connection.query(
                    "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE 'SELECT $1 * 2%'"
                ).single(Int64.self)
                #expect(prepared == 1)
            }
        }
    }

    @Test func serverNoticesGoToTheLogger() async throws {
        let collected = LogCollector()
        var logger = Logger(label: "notices") { _ in collected }
        logger.logLevel = .debug
        let connection = try await PGConnection.connect(
            configuration: try await TestDatabase.configuration(), logger: logger)
        try await connection.query("DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$")
        await connection.close()
        #expect(collected.messages.contains { $0.contains("hello from plpgsql") })
    }

    @Test func scriptsRunSeveralStatements() async throws {
        try await TestDatabase.withPool { pool throws in
            try await pool.withConnection { connection throws in
                try await connection.executeScript(
                    "CREATE TABLE a (id int); CREATE TABLE b (id int); INSERT INTO a VALUES (1);")
                #expect(try await connection.query("SELECT count(*) FROM a").single(Int64.self) == 1)
            }
        }
    }
}

/// A log handler that keeps every message, to check what the driver logs.
final class LogCollector: LogHandler, Sendable {
    private let storage = Mutex<[String]>([])
    var messages: [String] { storage.withLock { $0 } }
    var metadata: Logger.Metadata {
        get { [:] }
        set {}
    }
    var logLevel: Logger.Level {
        get { .trace }
        set {}
    }
    subscript(metadataKey _: String) -> Logger.Metadata.Value? {
        get { nil }
        set {}
    }
    func log(event: LogEvent) {
        let text = "\(event.message) \(event.metadata.map { "\($0)" } ?? "")"
        storage.withLock { $0.append(text) }
    }
}

/// What a read gives, as text: its value, or its error's message (to compare two ways of reading).
private func outcome(_ body: () throws -> Any) -> String {
    do { return "\(try body())" } catch {
        return "error: \((error as? PGError)?.message ?? "\(error)")"
    }
}

/// Every cell of `columns` read by `read` from a ``PGBinaryColumn`` gives what `decode(T.self)`
/// gives: the same value, or an error with the same message.
private func expectReadsMatchDecode<T: PGDecodable>(
    _ rows: PGRows, columns: Range<Int>, as type: T.Type, _ read: (PGBinaryColumn, Int) throws -> T,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    for row in rows.indices {
        for column in columns {
            #expect(
                outcome { try read(PGBinaryColumn(rows, column), row) }
                    == outcome { try rows[row].decode(T.self, at: column) }, "row \(row), column \(column)",
                sourceLocation: sourceLocation)
        }
    }
}
