internal import CLibPQ

/// One column of a result, its type and format checked once, for loops that read it on every
/// row: a read costs libpq's three value accessors instead of the full checks of `PGRow.decode`.
/// Anything but the common case (a binary, non-NULL value of the expected type and width) is read
/// by `PGRow.decode`, so values and errors are the same.
///
/// ```swift
/// let versions = PGBinaryColumn(rows, 0)
/// let total = try rows.indices.reduce(0) { $0 + (try versions.int64(row: $1)) }
/// ```
package struct PGBinaryColumn {
    private let rows: PGRows
    private let column: Int
    private let rowCount: Int
    private let exists: Bool
    private let isBinary: Bool
    private let type: UInt32

    /// Column `column` of `rows` (any index: one out of range is refused when read).
    package init(_ rows: PGRows, _ column: Int) {
        let result = rows.handle.pointer
        self.rows = rows
        self.column = column
        rowCount = Int(PQntuples(result))
        exists = column >= 0 && column < Int(PQnfields(result))
        isBinary = exists && PQfformat(result, Int32(column)) == 1
        type = exists ? PQftype(result, Int32(column)) : 0
    }

    /// The value's bytes on `row` when it is a binary, non-NULL value of `type` and `size` bytes.
    @inline(__always)
    private func fixedWidth(row: Int, of type: PGDataType, size: Int32) -> UnsafeRawPointer? {
        guard isBinary, self.type == type.oid, row >= 0, row < rowCount else { return nil }
        let (result, r, c) = (rows.handle.pointer, Int32(row), Int32(column))
        guard PQgetisnull(result, r, c) == 0, PQgetlength(result, r, c) == size, let value = PQgetvalue(result, r, c)
        else { return nil }
        return UnsafeRawPointer(value)
    }

    /// The non-NULL `int8` on `row` (`int2` and `int4` widened, as `decode` does).
    package func int64(row: Int) throws(PGError) -> Int64 {
        if let value = fixedWidth(row: row, of: .int8, size: 8) {
            return Int64(bigEndian: value.loadUnaligned(as: Int64.self))
        }
        return try rows[row].decode(Int64.self, at: column)
    }

    /// The non-NULL `int4` on `row`.
    package func int32(row: Int) throws(PGError) -> Int32 {
        if let value = fixedWidth(row: row, of: .int4, size: 4) {
            return Int32(bigEndian: value.loadUnaligned(as: Int32.self))
        }
        return try rows[row].decode(Int32.self, at: column)
    }

    /// The non-NULL `xid8` on `row`.
    package func transactionID(row: Int) throws(PGError) -> PGTransactionID {
        if let value = fixedWidth(row: row, of: .xid8, size: 8) {
            return PGTransactionID(UInt64(bigEndian: value.loadUnaligned(as: UInt64.self)))
        }
        return try rows[row].decode(PGTransactionID.self, at: column)
    }

    /// The non-NULL `bool` on `row`.
    package func bool(row: Int) throws(PGError) -> Bool {
        if let value = fixedWidth(row: row, of: .bool, size: 1) { return value.load(as: UInt8.self) != 0 }
        return try rows[row].decode(Bool.self, at: column)
    }

    /// The binary bytes on `row` as the server sent them (nil when NULL), without copying. They
    /// belong to the rows: valid only while the caller keeps the rows alive.
    package func unsafeBytes(row: Int) throws(PGError) -> UnsafeRawBufferPointer? {
        let result = rows.handle.pointer
        guard exists else {
            throw PGError(
                code: .decoding, message: "no column at index \(column); the row has \(PQnfields(result))")
        }
        guard isBinary else {
            throw PGError(
                code: .decoding,
                message:
                    "column '\(String(cString: PQfname(result, Int32(column))))' (index \(column)) is in text format"
            )
        }
        guard row >= 0, row < rowCount else {
            throw PGError(code: .decoding, message: "no row at index \(row); the result has \(rowCount)")
        }
        let (r, c) = (Int32(row), Int32(column))
        if PQgetisnull(result, r, c) == 1 { return nil }
        return UnsafeRawBufferPointer(start: PQgetvalue(result, r, c), count: Int(PQgetlength(result, r, c)))
    }
}

extension PGRow {
    /// Column `column` as a non-NULL `int8`, specialised (no generic dispatch per call) for
    /// loops over many rows.
    ///
    /// ```swift
    /// let version = try row.int64(at: 0)
    /// ```
    package func int64(at column: Int) throws(PGError) -> Int64 {
        try PGBinaryColumn(rows, column).int64(row: index)
    }

    /// Column `column` as a non-NULL `int4`, specialised like ``int64(at:)``.
    ///
    /// ```swift
    /// let kind = try row.int32(at: 0)
    /// ```
    package func int32(at column: Int) throws(PGError) -> Int32 {
        try PGBinaryColumn(rows, column).int32(row: index)
    }

    /// The type of column `column`, or nil when the row has no such column.
    ///
    /// ```swift
    /// let isJSONB = row.dataType(at: 4) == .jsonb
    /// ```
    package func dataType(at column: Int) -> PGDataType? {
        let result = rows.handle.pointer
        guard column >= 0, column < Int(PQnfields(result)) else { return nil }
        return PGDataType(oid: PQftype(result, Int32(column)))
    }
}
