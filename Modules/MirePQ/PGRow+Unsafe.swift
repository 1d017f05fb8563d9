internal import CLibPQ

extension PGRow {
    /// Column `column` as a non-NULL `int8`, specialised (no generic dispatch per call) for
    /// loops over many rows.
    ///
    /// ```swift
    /// let version = try row.int64(at: 0)
    /// ```
    package func int64(at column: Int) throws(PGError) -> Int64 {
        try decode(Int64.self, at: column)
    }

    /// Column `column` as a non-NULL `int4`, specialised like ``int64(at:)``.
    ///
    /// ```swift
    /// let kind = try row.int32(at: 0)
    /// ```
    package func int32(at column: Int) throws(PGError) -> Int32 {
        try decode(Int32.self, at: column)
    }

    /// Calls `body` with the binary bytes of column `column` as the server sent them (nil when
    /// the value is NULL), without copying. The bytes are valid only inside `body`.
    ///
    /// ```swift
    /// let text = try row.withUnsafeBinaryValue(at: 3) { $0.map { String(decoding: $0, as: UTF8.self) } }
    /// ```
    package func withUnsafeBinaryValue<R>(
        at column: Int, _ body: (UnsafeRawBufferPointer?) throws -> R
    ) throws -> R {
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
        // The row holds the result: libpq's bytes stay valid while `body` runs.
        return try withExtendedLifetime(self) {
            let row = Int32(index)
            if PQgetisnull(result, row, col) == 1 { return try body(nil) }
            return try body(
                UnsafeRawBufferPointer(start: PQgetvalue(result, row, col), count: Int(PQgetlength(result, row, col))))
        }
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
