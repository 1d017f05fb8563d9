internal import CLibPQ

/// Owns a completed `PGresult`. Immutable once built: libpq's accessors only read it, so it may be
/// shared across threads; `PQclear` runs when the last reference goes.
final class ResultHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    /// The connection's notice receiver, which libpq copied into the result (it reports misuse,
    /// such as a row out of range, through it): kept alive as long as the result, which may
    /// outlive its connection.
    private let noticeSink: NoticeSink?

    init(_ pointer: OpaquePointer, noticeSink: NoticeSink?) {
        self.pointer = pointer
        self.noticeSink = noticeSink
    }

    deinit { PQclear(pointer) }
}

/// The rows a statement returned, decoded lazily from libpq's binary result.
///
/// ```swift
/// let rows = try await connection.query("SELECT id, name FROM users")
/// for row in rows {
///     let (id, name) = try row.decode((Int64, String).self)
/// }
/// ```
public struct PGRows: Sendable, RandomAccessCollection {
    // Everything is read from the result on demand: most statements are decoded by column
    // index and never need names or the command tag, so nothing is built per query.
    let handle: ResultHandle

    init(handle: ResultHandle) {
        self.handle = handle
    }

    /// The command tag, e.g. `INSERT 0 3`.
    public var commandTag: String { String(cString: PQcmdStatus(handle.pointer)) }

    public var startIndex: Int { 0 }
    public var endIndex: Int { Int(PQntuples(handle.pointer)) }
    public subscript(position: Int) -> PGRow { PGRow(rows: self, index: position) }

    /// The number of columns.
    var columnCount: Int { Int(PQnfields(handle.pointer)) }

    /// The column names, in order.
    public var columnNames: [String] {
        (0..<PQnfields(handle.pointer)).map { String(cString: PQfname(handle.pointer, $0)) }
    }

    /// The index of the column named exactly `name`, if any.
    func columnIndex(named name: String) -> Int? {
        (0..<columnCount).first { String(cString: PQfname(handle.pointer, Int32($0))) == name }
    }

    /// Rows inserted, updated or deleted (from the command tag); 0 when not applicable.
    public var affectedRows: Int {
        Int(String(cString: PQcmdTuples(handle.pointer))) ?? 0
    }

    /// The first column of the only row, decoded; an error if there is not exactly one row.
    ///
    /// ```swift
    /// let count = try await connection.query("SELECT count(*) FROM users").single(Int64.self)
    /// ```
    public func single<T: PGDecodable>(_ type: T.Type = T.self) throws(PGError) -> T {
        guard count == 1 else {
            throw PGError(code: .decoding, message: "expected exactly one row, got \(count)")
        }
        return try self[0].decode(T.self, at: 0)
    }
}

/// One row of ``PGRows``.
///
/// ```swift
/// let name = try row.decode(String.self, named: "name")
/// let balance = try row.decode(Int64?.self, at: 2)
/// ```
public struct PGRow: Sendable {
    let rows: PGRows
    let index: Int

    /// The number of columns.
    public var columnCount: Int { rows.columnCount }

    /// Decodes column `column` (0-based) as `T`.
    public func decode<T: PGDecodable>(_: T.Type = T.self, at column: Int) throws(PGError) -> T {
        let result = rows.handle.pointer
        guard column >= 0, column < Int(PQnfields(result)) else {
            throw PGError(
                code: .decoding, message: "no column at index \(column); the row has \(PQnfields(result))")
        }
        guard index >= 0, index < Int(PQntuples(result)) else {
            throw PGError(code: .decoding, message: "no row at index \(index); the result has \(PQntuples(result))")
        }
        let row = Int32(index)
        let col = Int32(column)
        let type = PGDataType(oid: PQftype(result, col))
        func failure(_ reason: String) -> PGError {
            let name = String(cString: PQfname(result, col))
            return PGError(
                code: .decoding,
                message: "column '\(name)' (index \(column), type \(type)) cannot be decoded as \(T.self): \(reason)"
            )
        }
        if PQgetisnull(result, row, col) == 1 {
            guard let null = T.postgresNull else { throw failure("the value is NULL; decode as Optional") }
            return null
        }
        guard PQfformat(result, col) == 1 else { throw failure("the column is in text format") }
        let length = Int(PQgetlength(result, row, col))
        let buffer = UnsafeRawBufferPointer(start: PQgetvalue(result, row, col), count: length)
        var reader = PGBinaryReader(buffer)
        do throws(PGDecodingFailure) {
            let value = try T.decode(from: &reader, type: type)
            guard reader.remaining == 0 else { throw PGDecodingFailure("\(reader.remaining) bytes left over") }
            return value
        } catch {
            throw failure(error.reason)
        }
    }

    /// Decodes the column named `name` as `T`.
    public func decode<T: PGDecodable>(_: T.Type = T.self, named name: String) throws(PGError) -> T {
        guard let column = rows.columnIndex(named: name) else {
            throw PGError(code: .decoding, message: "no column named '\(name)'; the row has \(rows.columnNames)")
        }
        return try decode(T.self, at: column)
    }

    /// Decodes the leading columns as a tuple, in order.
    ///
    /// ```swift
    /// let (id, email, verified) = try row.decode((UUID, String, Bool).self)
    /// ```
    public func decode<each T: PGDecodable>(_: (repeat each T).Type) throws(PGError) -> (repeat each T) {
        var column = 0
        func next<V: PGDecodable>(_: V.Type) throws(PGError) -> V {
            defer { column += 1 }
            return try decode(V.self, at: column)
        }
        return (repeat try next((each T).self))
    }
}
