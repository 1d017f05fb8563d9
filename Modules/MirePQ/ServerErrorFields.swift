internal import CLibPQ

extension PGError {
    /// Builds an error from a failed `PGresult`, reading the server's diagnostic fields.
    init(result: OpaquePointer, connectionBroken: Bool, query: String?) {
        func field(_ code: Character) -> String? {
            guard let ascii = code.asciiValue, let value = PQresultErrorField(result, Int32(ascii)) else { return nil }
            return String(cString: value)
        }
        let message = field("M") ?? String(cString: PQresultErrorMessage(result)).trimmingWhitespace()
        let sqlState = field("C")
        let severity = field("V")
        self.init(
            code: connectionBroken || Self.endsSession(sqlState: sqlState, severity: severity)
                ? .connectionLost : .server,
            sqlState: sqlState,
            message: message.isEmpty ? "the statement failed" : message,
            detail: field("D"),
            hint: field("H"),
            constraint: field("n"),
            query: query
        )
        self.severity = severity
        table = field("t")
        column = field("c")
    }
}
