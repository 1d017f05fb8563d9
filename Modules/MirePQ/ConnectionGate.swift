import Foundation

/// Who may use a connection's libpq handle: its executor (any job of the connection's actor),
/// or a statement its caller sent from its own thread, whose reply ``PGEventLoop`` reads.
///
/// The two never overlap. A caller's statement starts only when no job runs, none waits, and no
/// other statement is in flight; otherwise it goes through the executor like any other call. A
/// job waits (on the connection's own thread, never the cooperative pool) until a statement in
/// flight has its reply, and takes precedence over the next caller.
///
/// ```swift
/// guard gate.beginCallerStatement() else { return try await queryOnExecutor(query) }
/// // … sent; the event loop calls gate.endCallerStatement() with the reply
/// ```
/// Confinement: `state` is only read and written under `condition`'s lock.
final class ConnectionGate: @unchecked Sendable {
    private struct State {
        var jobRunning = false
        var jobsWaiting = 0
        var callerStatement = false
    }

    // NSCondition: a job may have to wait, on its own thread, for a reply read elsewhere.
    private let condition = NSCondition()
    private var state = State()

    /// Before a job of the executor runs: waits for a caller's statement in flight.
    func beginJob() {
        condition.lock()
        defer { condition.unlock() }
        state.jobsWaiting += 1
        while state.callerStatement { condition.wait() }
        state.jobsWaiting -= 1
        state.jobRunning = true
    }

    /// After the job ran (or suspended).
    func endJob() {
        condition.lock()
        state.jobRunning = false
        condition.unlock()
    }

    /// Takes the handle for a statement sent by its caller; false when a job runs or waits, or
    /// another statement is in flight.
    func beginCallerStatement() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !state.jobRunning, state.jobsWaiting == 0, !state.callerStatement else { return false }
        state.callerStatement = true
        return true
    }

    /// The caller's statement has its reply (or failed): the handle is free again.
    func endCallerStatement() {
        condition.lock()
        state.callerStatement = false
        condition.broadcast()
        condition.unlock()
    }
}
