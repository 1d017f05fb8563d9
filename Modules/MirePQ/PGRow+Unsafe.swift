internal import CLibPQ

extension PGRow {
    /// Column `column` as a non-NULL `int8`, specialised (no generic dispatch per call) for
    /// loops over many rows.
    ///
    /// ```swift
    /// let version = try row.int64(at: 0)
    /// ```
    package func int64(at column: Int) throws(PGError) -> Int64 {
        // The common case read directly: a binary, non-NULL int8. Anything else (and every
        // error) goes through `decode`, which widens int2 and int4 and explains failures.
        if let value = fixedWidthValue(at: column, of: .int8, size: 8) {
            return Int64(bigEndian: value.loadUnaligned(as: Int64.self))
        }
        return try decode(Int64.self, at: column)
    }

    /// The bytes of column `column` when it is a binary, non-NULL value of `type` and `size`
    /// bytes; nil otherwise (the caller then decodes it the general way).
    @inline(__always)
    private func fixedWidthValue(at column: Int, of type: PGDataType, size: Int32) -> UnsafeRawPointer? {
        let result = rows.handle.pointer
        // Out of range here falls to `decode`, which refuses the column or traps on the row.
        guard index >= 0, index < Int(PQntuples(result)), column >= 0, column < Int(PQnfields(result)) else {
            return nil
        }
        let (row, col) = (Int32(index), Int32(column))
        guard PQftype(result, col) == type.oid,
            PQfformat(result, col) == 1, PQgetisnull(result, row, col) == 0, PQgetlength(result, row, col) == size,
            let value = PQgetvalue(result, row, col)
        else { return nil }
        return UnsafeRawPointer(value)
    }

    /// Column `column` as a non-NULL `int4`, specialised like ``int64(at:)``.
    ///
    /// ```swift
    /// let kind = try row.int32(at: 0)
    /// ```
    package func int32(at column: Int) throws(PGError) -> Int32 {
        if let value = fixedWidthValue(at: column, of: .int4, size: 4) {
            return Int32(bigEndian: value.loadUnaligned(as: Int32.self))
        }
        return try decode(Int32.self, at: column)
    }

    /// The binary bytes of column `column` as the server sent them (nil when the value is NULL),
    /// without copying and without a closure per value: for loops over many rows. The bytes
    /// belong to the rows, so they are valid only while the caller keeps the rows alive.
    ///
    /// ```swift
    /// let total = withExtendedLifetime(rows) {
    ///     rows.reduce(0) { $0 + ((try? $1.unsafeBinaryValue(at: 2))??.count ?? 0) }
    /// }
    /// ```
    package func unsafeBinaryValue(at column: Int) throws(PGError) -> UnsafeRawBufferPointer? {
        let result = rows.handle.pointer
        guard column >= 0, column < Int(PQnfields(result)) else {
            throw PGError(
                code: .decoding, message: "no column at index \(column); the row has \(PQnfields(result))")
        }
        let col = Int32(column)
        guard PQfformat(result, col) == 1 else {
            throw PGError(
                code: .decoding,
                message: "column '\(String(cString: PQfname(result, col)))' (index \(column)) is in text format")
        }
        let row = Int32(index)
        if PQgetisnull(result, row, col) == 1 { return nil }
        return UnsafeRawBufferPointer(start: PQgetvalue(result, row, col), count: Int(PQgetlength(result, row, col)))
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
