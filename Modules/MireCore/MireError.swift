/// An error from Mire: what went wrong, where (stream, version, position), and what to do.
///
/// ```swift
/// do {
///     try await store.save(&account)
/// } catch let error as MireError where error.code == .concurrencyConflict {
///     // reload and retry
/// }
/// ```
public struct MireError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is. Extensible: new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public var description: String { name }

        /// The stream's version was not the one the save expected.
        public static let concurrencyConflict = Code(name: "concurrencyConflict")
        /// The stream does not exist.
        public static let streamNotFound = Code(name: "streamNotFound")
        /// The stored stream is inconsistent (gap, duplicate, mismatch with its stream row).
        public static let corruptStream = Code(name: "corruptStream")
        /// An event's payload could not be decoded.
        public static let undecodableEvent = Code(name: "undecodableEvent")
        /// A stored state (a process manager's) could not be decoded as its type.
        public static let undecodableState = Code(name: "undecodableState")
        /// An event's type name is not known to the event type.
        public static let unknownEventType = Code(name: "unknownEventType")
        /// A stored event was refused by the aggregate's `checkApplicable(_:)` (it cannot represent it,
        /// e.g. an amount that would overflow): the stream cannot be loaded as it is.
        public static let eventRefused = Code(name: "eventRefused")
        /// An event id of this save is already stored with different content (or elsewhere).
        public static let eventIDReused = Code(name: "eventIDReused")
        /// The same event id appears twice in one save or batch: a programming error.
        public static let repeatedEventID = Code(name: "repeatedEventID")
        /// The connection was lost after a write was sent and before its reply arrived: it may
        /// or may not have been stored. Never retried blindly: save the same events again (same
        /// ids) and the store reports where they were stored; ``EventStore/update`` and
        /// `store.transaction` resolve it themselves.
        public static let commitOutcomeUnknown = Code(name: "commitOutcomeUnknown")
        /// A stream id was refused.
        public static let invalidStreamID = Code(name: "invalidStreamID")
        /// A lock could not be taken within the transaction's lock timeout.
        public static let lockTimeout = Code(name: "lockTimeout")
        /// The operation does not fit the object's state (e.g. snapshotting unsaved events).
        public static let invalidOperation = Code(name: "invalidOperation")
        /// A transaction handle was used after its scope ended.
        public static let transactionClosed = Code(name: "transactionClosed")
        /// A wait ran out of time.
        public static let timeout = Code(name: "timeout")
        /// A projection worker lost its lease to another worker (fenced); it stops writing.
        public static let fenced = Code(name: "fenced")
        /// A projection's checkpoint was written on another PostgreSQL cluster (a restore, a
        /// logical copy, an upgrade): its transaction ids mean nothing here. Re-anchor it once.
        public static let foreignCheckpoint = Code(name: "foreignCheckpoint")
        /// The database failed; see ``MireError/underlying``.
        public static let database = Code(name: "database")
        /// A migration could not be applied, or an applied one was edited.
        public static let migration = Code(name: "migration")
        /// The local PostgreSQL server could not be found, started or stopped.
        public static let localServer = Code(name: "localServer")
    }

    /// What kind of failure this is.
    public var code: Code
    /// What went wrong.
    public var message: String
    /// The stream concerned, if any.
    public var stream: String?
    /// The stream version concerned, if any.
    public var version: Int64?
    /// The global log position concerned, if any.
    public var position: Int64?
    /// For a concurrency conflict: what the save expected (``version`` holds the actual version).
    public var expected: ExpectedVersion?
    /// What to do about it.
    public var recovery: String?
    /// The error underneath, if any (a database error, a decoding error).
    public var underlying: (any Error & Sendable)?

    /// Creates an error.
    ///
    /// ```swift
    /// throw MireError(code: .streamNotFound, message: "no such account", stream: "account-7",
    ///                 recovery: "open the account first")
    /// ```
    public init(
        code: Code,
        message: String,
        stream: String? = nil,
        version: Int64? = nil,
        position: Int64? = nil,
        expected: ExpectedVersion? = nil,
        recovery: String? = nil,
        underlying: (any Error & Sendable)? = nil
    ) {
        self.code = code
        self.message = message
        self.stream = stream
        self.version = version
        self.position = position
        self.expected = expected
        self.recovery = recovery
        self.underlying = underlying
    }

    /// Whether running the same work again may succeed: a concurrency conflict (after reloading),
    /// or a database error that is itself retryable (lost connection before a commit, deadlock,
    /// serialization failure, refused connection). Never an unknown commit outcome (running the
    /// work again could do it twice), a lock timeout (retried only where the caller opts in, see
    /// `RetryPolicy`), or a programming error.
    ///
    /// This is the one definition of "retryable"; `RetryPolicy` builds on it.
    public var isRetryable: Bool {
        switch code {
        case .concurrencyConflict: return true
        case .commitOutcomeUnknown, .lockTimeout: return false
        default: return (underlying as? any RetryableError)?.isRetryable ?? false
        }
    }

    public var description: String {
        var text = "\(code): \(message)"
        var location: [String] = []
        if let stream { location.append("stream \(stream)") }
        if let expected { location.append("expected \(expected)") }
        if let version { location.append(expected == nil ? "version \(version)" : "actual version \(version)") }
        if let position { location.append("position \(position)") }
        if !location.isEmpty { text += " (" + location.joined(separator: ", ") + ")" }
        if let recovery { text += ". " + recovery }
        return text
    }
}

/// An error that knows whether retrying may help; lets ``MireError/isRetryable`` look through
/// to the error underneath without MireCore knowing the database driver.
public protocol RetryableError: Error {
    /// Whether running the same work again may succeed.
    var isRetryable: Bool { get }
}
