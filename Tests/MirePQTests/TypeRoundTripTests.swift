import Foundation
import MirePQ
import MireTestSupport
import Testing

@Suite("Parameter and result types", .timeLimit(.minutes(3)))
struct TypeRoundTripTests {
    /// Sends `value` as a parameter and decodes it back, through the server.
    func roundTrip<T: PGEncodable & PGDecodable>(_ value: T, cast: String) async throws -> T {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { connection throws in
                try await connection.query("SELECT \(value)::\(unescaped: cast)").single(T.self)
            }
        }
    }

    @Test func scalars() async throws {
        #expect(try await roundTrip(true, cast: "bool") == true)
        #expect(try await roundTrip(false, cast: "bool") == false)
        #expect(try await roundTrip(Int16.min, cast: "int2") == Int16.min)
        #expect(try await roundTrip(Int32.max, cast: "int4") == Int32.max)
        #expect(try await roundTrip(Int64.min, cast: "int8") == Int64.min)
        #expect(try await roundTrip(42, cast: "int8") == 42)
        #expect(try await roundTrip(-2.5e300, cast: "float8") == -2.5e300)
        let uuid = UUID()
        #expect(try await roundTrip(uuid, cast: "uuid") == uuid)
        let bytes = Data([0, 1, 2, 255, 0, 128])
        #expect(try await roundTrip(bytes, cast: "bytea") == bytes)
        let date = Date(timeIntervalSince1970: 1_700_000_000.123456)
        let decodedDate = try await roundTrip(date, cast: "timestamptz")
        #expect(abs(decodedDate.timeIntervalSince(date)) < 0.000_001)
        #expect(
            try await roundTrip(PGTransactionID(9_000_000_000), cast: "xid8")
                == PGTransactionID(9_000_000_000))
    }

    @Test func textIsExactIncludingNonASCII() async throws {
        let text = "Zoë 北京 🏦 \"quoted\" 'single' \\backslash\\ \t tab"
        #expect(try await roundTrip(text, cast: "text") == text)
        #expect(try await roundTrip("", cast: "text") == "")
    }

    @Test func json() async throws {
        let jsonb = try await roundTrip(PGJSONB(text: #"{"b": 1, "a": "ü"}"#), cast: "jsonb")
        #expect(jsonb.text == #"{"a": "ü", "b": 1}"#)  // jsonb normalises key order
        let json = try await roundTrip(PGJSON(text: #"{"b":1,  "a":2}"#), cast: "json")
        #expect(json.text == #"{"b":1,  "a":2}"#)  // json keeps the text as given
    }

    @Test func nulls() async throws {
        #expect(try await roundTrip(Int64?.none, cast: "int8") == nil)
        #expect(try await roundTrip(String?.none, cast: "text") == nil)
        #expect(try await roundTrip(UUID?.none, cast: "uuid") == nil)
        #expect(try await roundTrip(Optional("x"), cast: "text") == "x")
    }

    @Test func arrays() async throws {
        #expect(try await roundTrip([Int64(1), 2, 3], cast: "int8[]") == [1, 2, 3])
        #expect(try await roundTrip(["a", "ü", ""], cast: "text[]") == ["a", "ü", ""])
        #expect(try await roundTrip([Int64?.none, 5], cast: "int8[]") == [nil, 5])
        #expect(try await roundTrip([Int64](), cast: "int8[]") == [])
        let ids = [UUID(), UUID()]
        #expect(try await roundTrip(ids, cast: "uuid[]") == ids)
        let docs = [PGJSONB(text: "{}"), PGJSONB(text: "[1]")]
        #expect(try await roundTrip(docs, cast: "jsonb[]").map(\.text) == ["{}", "[1]"])
        #expect(try await roundTrip([true, false], cast: "bool[]") == [true, false])
        #expect(try await roundTrip([Data([1]), Data()], cast: "bytea[]") == [Data([1]), Data()])
    }

    @Test func arraysAsParametersToUnnest() async throws {
        try await TestDatabase.withPool { pool throws in
            try await pool.withConnection { connection throws in
                try await connection.query("CREATE TABLE items (id int8, name text)")
                let ids: [Int64] = [1, 2, 3]
                let names = ["one", "two", "three"]
                let inserted = try await connection.query(
                    "INSERT INTO items SELECT * FROM unnest(\(ids)::int8[], \(names)::text[])"
                )
                #expect(inserted.affectedRows == 3)
                let rows = try await connection.query("SELECT id, name FROM items ORDER BY id")
                #expect(try rows.map { try $0.decode((Int64, String).self) }.map(\.1) == names)
            }
        }
    }

    @Test func integersWidenButNeverTruncate() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { connection throws in
                #expect(try await connection.query("SELECT 7::int2").single(Int64.self) == 7)
                #expect(try await connection.query("SELECT 7::int4").single(Int.self) == 7)
                let error = await #expect(throws: PGError.self) {
                    try await connection.query("SELECT 70000::int4").single(Int16.self)
                }
                #expect(error?.code == .decoding)
            }
        }
    }

    @Test func decodingMismatchNamesColumnAndTypes() async throws {
        try await TestDatabase.withPool(maximumConnections: 1) { pool throws in
            try await pool.withConnection { connection throws in
                let rows = try await connection.query("SELECT 'x'::text AS label, NULL::int8 AS missing")
                let mismatch = #expect(throws: PGError.self) { try rows[0].decode(Int64.self, named: "label") }
                #expect(mismatch?.code == .decoding)
                #expect(mismatch?.message.contains("'label'") == true)
                #expect(mismatch?.message.contains("text") == true)
                #expect(mismatch?.message.contains("Int64") == true)
                let null = #expect(throws: PGError.self) { try rows[0].decode(Int64.self, named: "missing") }
                #expect(null?.message.contains("NULL") == true)
                #expect(try rows[0].decode(Int64?.self, named: "missing") == nil)
                #expect(throws: PGError.self) { try rows[0].decode(String.self, named: "nope") }
            }
        }
    }
}
