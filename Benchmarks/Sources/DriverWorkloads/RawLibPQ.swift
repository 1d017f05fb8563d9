import CLibPQRaw
import Foundation

/// The raw side: libpq called directly and synchronously, no Mire layer in between.
/// Confinement: one instance is used by one thread at a time (each benchmark client owns one).
public final class RawLibPQ: @unchecked Sendable {
    let connection: OpaquePointer
    var prepared = false
    /// The JSON payload of the appends this client sends (`appendPrepared` and the prototypes).
    public var appendPayload = #"{"amount":1}"#

    public init(conninfo: String) throws {
        guard let connection = PQconnectdb(conninfo), PQstatus(connection) == CONNECTION_OK else {
            throw RawFailure(message: "connect failed")
        }
        self.connection = connection
    }

    deinit { PQfinish(connection) }

    public struct RawFailure: Error { let message: String }

    func check(_ result: OpaquePointer?) throws {
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            throw RawFailure(message: String(cString: PQresultErrorMessage(result)))
        }
    }

    public func execute(_ sql: String) throws {
        try check(PQexec(connection, sql))
    }

    /// Runs `sql` with text parameters; returns the number of rows it returned.
    @discardableResult
    public func run(_ sql: String, _ parameters: [String]) throws -> Int {
        let copies = parameters.map { strdup($0) }
        defer { for copy in copies { free(copy) } }
        var pointers = copies.map { UnsafePointer($0) }
        let result = PQexecParams(connection, sql, Int32(parameters.count), nil, &pointers, nil, nil, 1)
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK else {
            throw RawFailure(message: String(cString: PQresultErrorMessage(result)))
        }
        return Int(PQntuples(result))
    }

    /// Runs `sql` with text parameters and returns every row as text columns.
    public func rows(_ sql: String, _ parameters: [String]) throws -> [[String]] {
        let copies = parameters.map { strdup($0) }
        defer { for copy in copies { free(copy) } }
        var pointers = copies.map { UnsafePointer($0) }
        let result = PQexecParams(connection, sql, Int32(parameters.count), nil, &pointers, nil, nil, 0)
        defer { PQclear(result) }
        guard PQresultStatus(result) == PGRES_TUPLES_OK else {
            throw RawFailure(message: String(cString: PQresultErrorMessage(result)))
        }
        return (0..<PQntuples(result)).map { row in
            (0..<PQnfields(result)).map { column in String(cString: PQgetvalue(result, row, column)) }
        }
    }

    /// `SELECT 1` through the extended protocol with a binary result, like Mire sends it.
    public func selectOne() throws {
        try check(PQexecParams(connection, "SELECT 1", 0, nil, nil, nil, nil, 1))
    }

    /// One INSERT per round trip, each its own transaction.
    public func insertOneByOne(_ count: Int) throws {
        var value = Int64(0).bigEndian
        let types: [Oid] = [20]
        var length = Int32(8)
        var format = Int32(1)
        for index in 0..<count {
            value = Int64(index).bigEndian
            try withUnsafeBytes(of: &value) { bytes in
                var pointer: UnsafePointer<CChar>? = bytes.baseAddress!.assumingMemoryBound(to: CChar.self)
                try check(
                    PQexecParams(
                        connection, "INSERT INTO bench_rows (v) VALUES ($1)", 1, types, &pointer, &length, &format, 1))
            }
        }
    }

    /// All INSERTs sent in pipeline mode with one sync: one round trip, one transaction.
    public func insertPipelined(_ count: Int) throws {
        guard PQenterPipelineMode(connection) == 1 else { throw RawFailure(message: "pipeline mode") }
        PQsetnonblocking(connection, 1)
        let types: [Oid] = [20]
        var length = Int32(8)
        var format = Int32(1)
        for index in 0..<count {
            var value = Int64(index).bigEndian
            withUnsafeBytes(of: &value) { bytes in
                var pointer: UnsafePointer<CChar>? = bytes.baseAddress!.assumingMemoryBound(to: CChar.self)
                _ = PQsendQueryParams(
                    connection, "INSERT INTO bench_rows (v) VALUES ($1)", 1, types, &pointer, &length, &format, 1)
            }
            while PQflush(connection) == 1 { _ = PQconsumeInput(connection) }
        }
        PQpipelineSync(connection)
        while PQflush(connection) == 1 { _ = PQconsumeInput(connection) }
        PQsetnonblocking(connection, 0)
        for _ in 0..<count {
            try check(PQgetResult(connection))
            while let extra = PQgetResult(connection) { PQclear(extra) }
        }
        PQclear(PQgetResult(connection))  // the sync
        PQexitPipelineMode(connection)
    }

    /// One `INSERT … SELECT FROM unnest($1::int8[])` carrying every row.
    public func insertArray(_ count: Int) throws {
        // Binary int8[]: ndim, has-nulls, element oid, length, lower bound, then (len, value) pairs.
        var bytes: [UInt8] = []
        func append<I: FixedWidthInteger>(_ value: I) {
            withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
        }
        append(Int32(1))
        append(Int32(0))
        append(Int32(20))
        append(Int32(count))
        append(Int32(1))
        for index in 0..<count {
            append(Int32(8))
            append(Int64(index))
        }
        let types: [Oid] = [1016]
        var length = Int32(bytes.count)
        var format = Int32(1)
        try bytes.withUnsafeBytes { buffer in
            var pointer: UnsafePointer<CChar>? = buffer.baseAddress!.assumingMemoryBound(to: CChar.self)
            try check(
                PQexecParams(
                    connection, "INSERT INTO bench_rows (v) SELECT unnest($1::int8[])", 1, types, &pointer, &length,
                    &format, 1)
            )
        }
    }
}

extension RawLibPQ {
    /// Runs Mire's existing-stream save statement (`sql`) prepared, binary parameters, the way
    /// a hand-written client would: for the per-layer save profile.
    public func appendPrepared(_ sql: String, stream: String, version: Int64) throws {
        try prepareAppend(sql)
        try withAppendParameters(stream: stream, version: version) { pointers, lengths, formats in
            try check(PQexecPrepared(connection, "append", 7, pointers, lengths, formats, 1))
        }
    }

    /// Prepares `sql` as "append" once.
    public func prepareAppend(_ sql: String) throws {
        if !prepared {
            try check(PQprepare(connection, "append", sql, 0, nil))
            prepared = true
        }
    }

    /// The seven binary parameters of the append statement, for `body`.
    func withAppendParameters<T>(
        stream: String, version: Int64,
        _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<Int32>, UnsafePointer<Int32>) throws -> T
    ) throws -> T {
        // A random id from the standard library's generator (Foundation's UUID() opens
        // /dev/urandom for each one on Linux, which would weigh on every raw save).
        var generator = SystemRandomNumberGenerator()
        var id = (generator.next() as UInt64, generator.next() as UInt64)
        var expected = version.bigEndian
        let payload: [UInt8] = [1] + Array(appendPayload.utf8)
        let metadata: [UInt8] = [1] + Array("{}".utf8)
        let texts = [Array(stream.utf8), Array("p".utf8), Array("p.deposited".utf8)]
        return try withUnsafeBytes(of: &id) { idBytes in
            try withUnsafeBytes(of: &expected) { versionBytes in
                try texts[0].withUnsafeBytes { s in
                    try texts[1].withUnsafeBytes { c in
                        try texts[2].withUnsafeBytes { t in
                            try payload.withUnsafeBytes { p in
                                try metadata.withUnsafeBytes { m in
                                    let values: [UnsafeRawPointer?] = [
                                        s.baseAddress, c.baseAddress, idBytes.baseAddress, t.baseAddress, p.baseAddress,
                                        m.baseAddress, versionBytes.baseAddress,
                                    ]
                                    let pointers = values.map { UnsafePointer($0?.assumingMemoryBound(to: CChar.self)) }
                                    let lengths: [Int32] = [
                                        Int32(s.count), Int32(c.count), 16, Int32(t.count), Int32(p.count),
                                        Int32(m.count), 8,
                                    ]
                                    let formats = [Int32](repeating: 1, count: 7)
                                    return try body(pointers, lengths, formats)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
