/// An error from the driver or the server.
///
/// `description` is deliberately generic (code, SQLSTATE and a pointer to what to do) so it can
/// be logged or shown without leaking SQL or row data; `debugDescription` has every detail.
///
/// ```swift
/// do {
///     try await connection.query("INSERT INTO users (name) VALUES (\(name))")
/// } catch let error as PGError where error.isUniqueViolation {
///     print("taken:", error.constraint ?? "?")
/// }
/// ```
public struct PGError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What kind of failure this is. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// The server rejected a statement; see ``PGError/sqlState``.
        public static let server = Code(name: "server")
        /// No connection could be opened (unreachable server, bad credentials, unknown database).
        public static let connectionFailed = Code(name: "connectionFailed")
        /// The connection broke (server restart, terminated backend, network, a FATAL error).
        /// Work in an open transaction was rolled back and may be run again on a new connection;
        /// an autocommitted statement that was in flight (``PGError/mayHaveExecuted``) may
        /// or may not have taken effect.
        public static let connectionLost = Code(name: "connectionLost")
        /// The connection was lost after `COMMIT` was sent and before its reply arrived: the
        /// transaction may or may not have committed. Never retried blindly; resolve it by
        /// looking for what the transaction wrote.
        public static let commitOutcomeUnknown = Code(name: "commitOutcomeUnknown")
        /// A column's value could not be decoded into the requested Swift type.
        public static let decoding = Code(name: "decoding")
        /// The pool was shut down.
        public static let poolClosed = Code(name: "poolClosed")
        /// libpq refused a call (for example pipeline mode could not be entered).
        public static let client = Code(name: "client")
        /// The server refused to write (SQLSTATE 25006) because it takes no writes at all: it is
        /// a hot standby, or a primary made read-only (fenced or demoted). Nothing was written.
        /// The pool drops the connection, so running the work again opens a new one, which libpq
        /// places on a server that takes writes when the connection string names several hosts
        /// with `target_session_attrs=read-write`.
        public static let readOnlyServer = Code(name: "readOnlyServer")
    }

    /// What kind of failure this is.
    public var code: Code
    /// The five-character SQLSTATE the server sent, if any (e.g. `23505`).
    public var sqlState: String?
    /// The primary message (from the server or the driver).
    public var message: String
    /// The server's DETAIL, if any. May contain row data: not part of `description`.
    public var detail: String?
    /// The server's HINT, if any.
    public var hint: String?
    /// The constraint that was violated, if any.
    public var constraint: String?
    /// The table concerned, if the server named one.
    public var table: String?
    /// The column concerned, if the server named one.
    public var column: String?
    /// The server's severity (`ERROR`, `FATAL`, …), if any.
    public var severity: String?
    /// The SQL text of the failing statement, for debugging only.
    public var query: String?
    /// For a lost connection: whether the statement (or pipeline) had been sent, so the server
    /// may have run it. Always true for ``Code/commitOutcomeUnknown``.
    public var mayHaveExecuted = false
    /// The server process of the connection that failed, when known: after an unknown commit
    /// outcome, a resolver can wait for that backend to end.
    public var backendPID: Int32?

    /// Creates an error; the driver does this, and so can tests.
    ///
    /// ```swift
    /// let error = PGError(code: .client, message: "pipeline mode unavailable")
    /// ```
    public init(
        code: Code,
        sqlState: String? = nil,
        message: String,
        detail: String? = nil,
        hint: String? = nil,
        constraint: String? = nil,
        query: String? = nil
    ) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
        self.query = query
    }

    /// A unique or primary-key constraint was violated (SQLSTATE 23505).
    public var isUniqueViolation: Bool { sqlState == "23505" }
    /// A serializable transaction could not be committed (40001): retry the transaction.
    public var isSerializationFailure: Bool { sqlState == "40001" }
    /// The server broke a deadlock by aborting this transaction (40P01): retry it.
    public var isDeadlock: Bool { sqlState == "40P01" }
    /// `lock_timeout` expired or `NOWAIT` found the row locked (55P03).
    public var isLockNotAvailable: Bool { sqlState == "55P03" }
    /// The statement was cancelled (57014), by a task cancellation or `statement_timeout`.
    public var isQueryCanceled: Bool { sqlState == "57014" }
    /// The connection is gone; the same work may succeed on a new connection.
    public var isConnectionLost: Bool { code == .connectionLost }

    /// Whether running the same work again (on a fresh connection or transaction) may succeed:
    /// a lost connection before anything could commit, a refused connection, a serialization
    /// failure or a deadlock. Never an unknown outcome — a `COMMIT` or an autocommitted
    /// statement lost in flight (``mayHaveExecuted``): running that work again could do it twice.
    /// (A lost *read* is safe to repeat: see ``asRead``.) A write refused by a server that takes
    /// none (``Code-swift.struct/readOnlyServer``, e.g. after a failover) is retryable too: the
    /// pool dropped that connection.
    public var isRetryable: Bool {
        (isConnectionLost && !mayHaveExecuted) || isSerializationFailure || isDeadlock || code == .connectionFailed
            || code == .readOnlyServer
    }

    /// This error as the failure of a statement that changes nothing (a read): a lost
    /// connection is then plainly retryable.
    ///
    /// ```swift
    /// } catch let error as PGError where error.asRead.isRetryable { … }
    /// ```
    public var asRead: PGError {
        var read = self
        read.mayHaveExecuted = false
        return read
    }

    /// Whether the server's SQLSTATE or severity means the session is over: the `57P0x` class
    /// (administrator or crash shutdown, terminated backend), an idle-in-transaction or idle
    /// session timeout, or any FATAL or PANIC error.
    static func endsSession(sqlState: String?, severity: String?) -> Bool {
        if severity == "FATAL" || severity == "PANIC" { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("57P") || sqlState == "25P03"
    }

    public var description: String {
        var text = "PGError(code: \(code)"
        if let sqlState { text += ", sqlState: \(sqlState)" }
        text += ")"
        switch code {
        case .connectionLost: text += ": the connection was lost; retry on a new connection"
        case .commitOutcomeUnknown:
            text += ": the connection was lost during COMMIT; check whether the work was stored before repeating it"
        case .connectionFailed: text += ": could not connect; check the server address and credentials"
        case .decoding: text += ": a column did not match the requested Swift type"
        case .poolClosed: text += ": the pool was shut down"
        case .readOnlyServer:
            text += ": the server takes no writes (a standby, or a read-only primary); retry on a new connection"
        default: break
        }
        return text + " (see debugDescription for details)"
    }

    public var debugDescription: String {
        var parts = ["code: \(code)"]
        if let sqlState { parts.append("sqlState: \(sqlState)") }
        if let severity { parts.append("severity: \(severity)") }
        parts.append("message: \(message)")
        if let detail { parts.append("detail: \(detail)") }
        if let hint { parts.append("hint: \(hint)") }
        if let constraint { parts.append("constraint: \(constraint)") }
        if let table { parts.append("table: \(table)") }
        if let column { parts.append("column: \(column)") }
        if let query { parts.append("query: \(query)") }
        if mayHaveExecuted { parts.append("mayHaveExecuted: true") }
        if let backendPID { parts.append("backendPID: \(backendPID)") }
        return "PGError(" + parts.joined(separator: ", ") + ")"
    }
}
