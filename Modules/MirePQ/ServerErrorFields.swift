internal import CLibPQ

extension PostgresError {
    /// Builds an error from a failed `PGresult`, reading the server's diagnostic fields.
    init(result: OpaquePointer, connectionBroken: Bool, query: String?) {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        let message = field("M") ?? String(cString: PQresultErrorMessage(result)).trimmingWhitespace()
        self.init(
            code: connectionBroken ? .connectionLost : .server,
            sqlState: field("C"),
            message: message.isEmpty ? "the statement failed" : message,
            detail: field("D"),
            hint: field("H"),
            constraint: field("n"),
            query: query
        )
        severity = field("V")
        table = field("t")
        column = field("c")
    }
}
