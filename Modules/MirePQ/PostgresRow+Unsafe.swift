internal import CLibPQ

extension PostgresRow {
    /// Column `column` as a non-NULL `int8`, specialised (no generic dispatch per call) for
    /// loops over many rows.
    ///
    /// ```swift
    /// let version = try row.int64(at: 0)
    /// ```
    package func int64(at column: Int) throws(PostgresError) -> Int64 {
        try decode(Int64.self, at: column)
    }

    /// The binary bytes of column `column` as the server sent them, or nil when the value is
    /// NULL, without copying. The pointer is valid only while the rows are alive: keep them
    /// with `withExtendedLifetime` around every use.
    ///
    /// ```swift
    /// try withExtendedLifetime(rows) {
    ///     let text = try rows[0].unsafeBinaryValue(at: 3).map { String(decoding: $0, as: UTF8.self) }
    /// }
    /// ```
    package func unsafeBinaryValue(at column: Int) throws(PostgresError) -> UnsafeRawBufferPointer? {
        let result = rows.handle.pointer
        guard column >= 0, column < Int(PQnfields(result)) else {
            throw PostgresError(
                code: .decoding, message: "no column at index \(column); the row has \(PQnfields(result))")
        }
        let col = Int32(column)
        guard PQfformat(result, col) == 1 else {
            throw PostgresError(
                code: .decoding,
                message: "column '\(String(cString: PQfname(result, col)))' (index \(column)) is in text format")
        }
        let row = Int32(index)
        if PQgetisnull(result, row, col) == 1 { return nil }
        return UnsafeRawBufferPointer(start: PQgetvalue(result, row, col), count: Int(PQgetlength(result, row, col)))
    }

    /// The type of column `column`.
    package func dataType(at column: Int) -> PostgresDataType {
        PostgresDataType(oid: PQftype(rows.handle.pointer, Int32(column)))
    }
}
