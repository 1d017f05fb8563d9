internal import CLibPQ
import Foundation

extension PGConnection {
    /// Runs a prepared statement that is already prepared on this connection by sending it from
    /// the caller's own thread, without blocking (libpq's non-blocking mode), and suspending until
    /// ``PGEventLoop`` has read the reply: one thread hand-off per statement instead of two.
    ///
    /// Returns nil, having sent nothing, when the statement is not eligible: the connection's
    /// executor is busy or has work waiting, a `BEGIN` waits in the prelude, the statement is not
    /// prepared yet, or the connection is closed or broken. The caller then runs it on the
    /// executor, which reports any such state as it always does. Once sent, the outcome is what
    /// the executor would report: rows, a typed error, `connectionLost` with `mayHaveExecuted`
    /// when the statement could have committed by itself, `CancellationError`.
    ///
    /// ```swift
    /// if prepared, let rows = try await sendFromCaller(query) { return rows }
    /// ```
    nonisolated func sendFromCaller(_ query: PGQuery) async throws -> PGRows? {
        try Task.checkCancellation()
        let gate = executor.gate
        guard gate.beginCallerStatement() else { return nil }
        // The handle is this call's until the gate is released: here when nothing is sent, else
        // by the reply's reader.
        let sent: (mayCommit: Bool, flushing: Bool)
        do {
            guard let started = try startSending(query) else {
                gate.endCallerStatement()
                return nil
            }
            sent = started
        } catch {
            gate.endCallerStatement()
            throw error
        }
        let ticket = canceller.begin()
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PGRows, any Error>) in
                    CallerStatementReply(
                        connection: self, sql: query.sql, mayCommit: sent.mayCommit, flushing: sent.flushing,
                        continuation: continuation
                    ).arm()
                }
            } onCancel: { [canceller] in
                canceller.requestCancel(ticket: ticket)
            }
        } catch let error as PGError where error.isQueryCanceled && Task.isCancelled {
            throw CancellationError()
        }
    }

    /// Sends `query` without blocking; nil (nothing sent) when it is not eligible. Whether it
    /// could commit by itself, and whether libpq still has bytes of it to send.
    private nonisolated func startSending(_ query: PGQuery) throws -> (mayCommit: Bool, flushing: Bool)? {
        let current = status
        guard current != .closed, prelude.withLock({ $0.isEmpty }),
            let name = preparedStatements.withLock({ $0.name(for: query.sql) })
        else { return nil }
        consumeIdleInput()
        let connection = handle.pointer
        // Under TLS or GSS encryption, decrypted bytes can wait inside the library while the
        // socket is quiet: an event loop watching the socket would never wake for them.
        guard !handle.isBroken, PQsslInUse(connection) == 0, PQgssEncInUse(connection) == 0 else { return nil }
        let mayCommit = current == .idle
        logger.trace("query", metadata: ["sql": "\(query.sql)"])
        // Switching to non-blocking flushes pending output first, blocking: there is none on an
        // idle connection (every path leaves the output buffer empty, or the connection closed).
        guard PQsetnonblocking(connection, 1) == 0 else { return nil }
        let queued = name.withCString { name in
            withParameters(query.bindings) { count, _, values, lengths, formats in
                PQsendQueryPrepared(connection, name, count, values, lengths, formats, 1)
            }
        }
        guard queued == 1 else {
            // Nothing went out whole: no Sync, so nothing can have committed. Part of it may wait
            // in libpq's buffer for the next statement to carry: the connection is closed.
            let error =
                handle.isBroken
                ? connectionLost(query.sql, mayHaveExecuted: false)
                : PGError(code: .client, message: handle.errorMessage, query: query.sql)
            closeHandle()
            throw error
        }
        switch PQflush(connection) {
        case 0: return (mayCommit, false)
        case 1: return (mayCommit, true)
        default:
            // Part of it may be out (reported as it would be with the Sync out too).
            let error = connectionLost(query.sql, mayHaveExecuted: mayCommit)
            settle()
            throw error
        }
    }
}

/// The reply of one statement its caller sent (see ``PGConnection/sendFromCaller(_:)``), read on
/// the event loop's thread as it arrives: the rest of the request flushed, input consumed, and
/// results taken while libpq has them whole. Like `PQexecPrepared`, the last result is the
/// outcome: an error at Sync (a deferred constraint failing at commit) comes after the
/// statement's own result and must win over it.
///
/// Confinement: made and armed once by the caller; from then on used only by the event loop's
/// thread, one readiness at a time (each wait is one-shot and re-armed from here), and at the
/// end by whichever thread completes it.
private final class CallerStatementReply: @unchecked Sendable {
    private let connection: PGConnection
    private let sql: String
    private let mayCommit: Bool
    private var flushing: Bool
    private var last: OpaquePointer?
    private let continuation: CheckedContinuation<PGRows, any Error>

    init(
        connection: PGConnection, sql: String, mayCommit: Bool, flushing: Bool,
        continuation: CheckedContinuation<PGRows, any Error>
    ) {
        self.connection = connection
        self.sql = sql
        self.mayCommit = mayCommit
        self.flushing = flushing
        self.continuation = continuation
    }

    /// Waits for the socket, then reads. When the kernel will not watch it, the statement is in
    /// flight with nobody to read its reply: the connection is closed and the outcome unknown.
    func arm() {
        let socket = PQsocket(connection.handle.pointer)
        guard PGEventLoop.shared.whenReady(socket, writable: flushing, { self.read() }) else {
            let lost = connection.connectionLost(sql, mayHaveExecuted: mayCommit)
            if let last { PQclear(last) }
            last = nil
            connection.closeHandle()
            return end(with: .failure(lost))
        }
    }

    private func read() {
        let pointer = connection.handle.pointer
        if flushing {
            switch PQflush(pointer) {
            case 0: flushing = false
            case 1:
                // Read meanwhile, so that a server blocked on its own replies can take more.
                if PQconsumeInput(pointer) == 1 { return arm() }
            default: break
            }
        }
        // A failed read leaves the connection bad: libpq then hands out its error without waiting.
        _ = PQconsumeInput(pointer)
        while PQisBusy(pointer) == 0 {
            guard let result = PQgetResult(pointer) else { return finish() }
            if let last { PQclear(last) }
            last = result
            // As PQexecFinish stops: a COPY state would hand out its result forever, and a bad
            // connection has nothing more to give.
            switch PQresultStatus(result) {
            case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH: return finish()
            default: if PQstatus(pointer) == CONNECTION_BAD { return finish() }
            }
        }
        arm()
    }

    /// Turns the last result into rows or an error. A connection that broke before the reply
    /// was whole (its Sync unanswered) is lost, whatever the statement's own result said.
    private func finish() {
        let outcome: Result<PGRows, any Error>
        if connection.handle.isBroken, let last,
            PQresultStatus(last) == PGRES_TUPLES_OK || PQresultStatus(last) == PGRES_COMMAND_OK
        {
            PQclear(last)
            outcome = .failure(connection.connectionLost(sql, mayHaveExecuted: mayCommit))
        } else {
            outcome = Result { try connection.check(last, query: sql, mayCommit: mayCommit) }
        }
        last = nil
        end(with: outcome)
    }

    /// Ends the statement's cancellation, then completes: here, unless a cancel is being sent
    /// for it, whose end waiting for on the event loop would hold up every other connection's replies.
    private func end(with outcome: Result<PGRows, any Error>) {
        if connection.canceller.endWithoutWaiting() {
            complete(outcome, ended: true)
        } else {
            DispatchQueue.global().async { self.complete(outcome) }
        }
    }

    /// Frees the handle for the next user and resumes the caller.
    private func complete(_ outcome: Result<PGRows, any Error>, ended: Bool = false) {
        if !ended { connection.canceller.end() }
        if !connection.handle.isBroken { PQsetnonblocking(connection.handle.pointer, 0) }
        connection.settle()
        connection.executor.gate.endCallerStatement()
        PGEventLoop.shared.repliesRead.add(1, ordering: .relaxed)
        continuation.resume(with: outcome)
    }
}
