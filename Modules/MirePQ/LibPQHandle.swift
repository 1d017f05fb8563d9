internal import CLibPQ
import Foundation
import Logging
import Synchronization

/// Receives server notices (`RAISE NOTICE`, warnings) and sends them to swift-log at debug,
/// instead of libpq's default of writing to stderr. Kept alive by the handle that registered it.
final class NoticeSink: Sendable {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }
}

/// Owns a `PGconn`. Confinement: used only by whoever holds its connection's ``ConnectionGate``:
/// a job of the ``PGConnection``'s executor, or a statement its caller sent and the event loop's
/// reading of its reply (before the connection exists, only the queue that opened it);
/// `PQfinish` runs in `deinit`.
final class LibPQHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    let noticeSink: NoticeSink

    private init(pointer: OpaquePointer, noticeSink: NoticeSink) {
        self.pointer = pointer
        self.noticeSink = noticeSink
    }

    private(set) var isFinished = false

    deinit { finish() }

    /// Closes the connection; later use reports it as broken.
    func finish() {
        guard !isFinished else { return }
        isFinished = true
        PQfinish(pointer)
    }

    /// Opens a connection, blocking the calling thread (never call it on the cooperative pool).
    static func connect(_ configuration: PGConfiguration, logger: Logger) throws(PGError) -> LibPQHandle {
        try configuration.validate()
        let parameters = configuration.libpqParameters
        let keys = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer {
            for key in keys { free(key) }
            for value in values { free(value) }
        }
        let connection: OpaquePointer? =
            (keys.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { keyBuffer in
                (values.map { UnsafePointer($0) } + [nil]).withUnsafeBufferPointer { valueBuffer in
                    PQconnectdbParams(keyBuffer.baseAddress, valueBuffer.baseAddress, 1)
                }
            }
        guard let connection else {
            throw PGError(code: .connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = configuration.redacted(String(cString: PQerrorMessage(connection)).trimmingWhitespace())
            PQfinish(connection)
            throw PGError(code: .connectionFailed, message: message.isEmpty ? "connection failed" : message)
        }
        let sink = NoticeSink(logger: logger)
        PQsetNoticeReceiver(
            connection,
            { context, result in
                guard let context, let result else { return }
                let sink = Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue()
                let message = String(cString: PQresultErrorMessage(result)).trimmingWhitespace()
                sink.logger.debug("postgres notice", metadata: ["notice": "\(message)"])
            },
            Unmanaged.passUnretained(sink).toOpaque()
        )
        return LibPQHandle(pointer: connection, noticeSink: sink)
    }

    var isBroken: Bool { isFinished || PQstatus(pointer) != CONNECTION_OK }

    /// The libpq error message of the connection, trimmed.
    var errorMessage: String {
        isFinished ? "the connection was closed" : String(cString: PQerrorMessage(pointer)).trimmingWhitespace()
    }
}

/// One call's cancellation, between its task's cancellation handler (any thread, any time) and
/// its statement, which takes its ticket when it starts on the connection's thread.
///
/// ```swift
/// if cancellation.started(ticket) { throw CancellationError() }  // cancelled before it started
/// ```
final class StatementCancellation: Sendable {
    private let state = Mutex<(ticket: UInt64?, cancelled: Bool)>((nil, false))

    /// Records the statement's ticket; true when the task was cancelled before it started.
    func started(_ ticket: UInt64) -> Bool {
        state.withLock { state in
            state.ticket = ticket
            return state.cancelled
        }
    }

    /// From the cancellation handler: the ticket to cancel, nil when the statement has not
    /// started (it then sees the cancellation when it does).
    func cancel() -> UInt64? {
        state.withLock { state in
            state.cancelled = true
            return state.ticket
        }
    }
}

/// Sends `PQcancel` for the statement in flight on one connection.
///
/// Cancellation handlers run on whatever thread cancelled the task; `PQcancel` opens a new
/// connection and blocks, so it is issued from a Dispatch queue. The mutex makes sure a cancel
/// is only sent while the statement that asked for it is still running: finishing a statement
/// waits for a cancel in progress, so a late cancel can never hit the next statement.
final class QueryCanceller: Sendable {
    private struct State {
        var cancel: OpaquePointer?
        var statement: UInt64 = 0
        var running = false
    }
    // `PGcancel` is documented as safe to use from another thread; the mutex serialises access.
    private let state: Mutex<State>

    init(handle: LibPQHandle) {
        state = Mutex(State(cancel: PQgetCancel(handle.pointer)))
    }

    deinit {
        state.withLock { state in
            if let cancel = state.cancel { PQfreeCancel(cancel) }
        }
    }

    /// Marks a statement as started and returns its ticket.
    func begin() -> UInt64 {
        state.withLock { state in
            state.statement &+= 1
            state.running = true
            return state.statement
        }
    }

    /// Marks the statement finished (waiting for a cancel being sent, if any).
    func end() {
        state.withLock { $0.running = false }
    }

    /// ``end()`` unless that would wait (a cancel is being sent): false then, and nothing changed.
    /// For the event loop's thread, which must never wait on one connection's cancel.
    func endWithoutWaiting() -> Bool {
        state.withLockIfAvailable { state in
            state.running = false
            return true
        } ?? false
    }

    /// Asks the server to cancel statement `ticket` if it is still running.
    ///
    /// A cancel that reaches the server before the statement does is ignored there (the backend
    /// is idle), so the request is repeated every 50 ms for as long as this statement runs.
    func requestCancel(ticket: UInt64) {
        DispatchQueue.global().async {
            for _ in 0..<1_200 {  // at most a minute of retries
                let stillRunning = self.state.withLock { state -> Bool in
                    guard state.running, state.statement == ticket, let cancel = state.cancel else { return false }
                    var buffer = [CChar](repeating: 0, count: 256)
                    _ = PQcancel(cancel, &buffer, 256)
                    return true
                }
                guard stillRunning else { return }
                usleep(50_000)
            }
        }
    }
}
