/// The pool's bookkeeping: idle connections, open count, FIFO waiters. No I/O happens here.
actor PoolState {
    enum Grant: Sendable {
        /// Use this idle connection.
        case connection(PostgresConnection)
        /// A slot is reserved for you: open a new connection (and call `slotFreed` if that fails).
        case openNew
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Grant, any Error>
    }

    let maximum: Int
    private var idle: [PostgresConnection] = []
    private var open = 0
    private var waiters: [Waiter] = []
    private var nextWaiterID: UInt64 = 0
    private var isClosed = false

    init(maximum: Int) { self.maximum = maximum }

    var statistics: (open: Int, idle: Int, waiting: Int) { (open, idle.count, waiters.count) }

    func lease() async throws -> Grant {
        guard !isClosed else { throw PostgresError(code: .poolClosed, message: "the pool was shut down") }
        if let connection = idle.popLast() { return .connection(connection) }
        if open < maximum {
            open += 1
            return .openNew
        }
        nextWaiterID += 1
        let id = nextWaiterID
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // Cancellation may have come before we queued: then the handler found nothing.
                if Task.isCancelled {
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiters.append(Waiter(id: id, continuation: continuation))
                }
            }
        } onCancel: {
            Task { await self.cancelWaiter(id) }
        }
    }

    /// Takes a healthy connection back; returns false when the pool is closed (close it).
    func release(_ connection: PostgresConnection) -> Bool {
        if isClosed {
            open -= 1
            return false
        }
        if !waiters.isEmpty {
            waiters.removeFirst().continuation.resume(returning: .connection(connection))
        } else {
            idle.append(connection)
        }
        return true
    }

    /// A connection was discarded (or never opened): hand its slot to the first waiter.
    func slotFreed() {
        if !waiters.isEmpty && !isClosed {
            waiters.removeFirst().continuation.resume(returning: .openNew)
        } else {
            open -= 1
        }
    }

    func close() -> [PostgresConnection] {
        isClosed = true
        for waiter in waiters {
            waiter.continuation.resume(throwing: PostgresError(code: .poolClosed, message: "the pool was shut down"))
        }
        waiters = []
        let closing = idle
        open -= idle.count
        idle = []
        return closing
    }

    private func cancelWaiter(_ id: UInt64) {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return }
        waiters.remove(at: index).continuation.resume(throwing: CancellationError())
    }
}
