/// The pool's bookkeeping as a plain value: idle connections, how many are open, who waits.
///
/// No I/O and no locking happen here: ``PGPool`` keeps one of these under a mutex and
/// carries out the actions it returns (hand a connection over, open one, resume a waiter), so
/// every rule can be unit-tested without a database. Waiters are served first come, first served.
///
/// ```swift
/// var machine = PoolStateMachine<Connection>(maximum: 2)
/// guard case .openNew = machine.lease() else { … }
/// ```
struct PoolStateMachine<Connection: AnyObject> {
    /// Identifies a caller waiting for a connection.
    struct WaiterID: Hashable, Sendable {
        let value: UInt64
    }

    /// What a caller asking for a connection should do.
    enum LeaseAction {
        /// Use this idle connection.
        case use(Connection)
        /// A slot is reserved: open a new connection (and report ``connectionFailed()`` if that fails).
        case openNew
        /// Every slot is busy: wait under this id for ``ReleaseAction/handOver(_:to:)`` or
        /// ``SlotAction/openNew(for:)``.
        case wait(WaiterID)
        /// The pool is shut down.
        case refuse
    }

    /// What to do with a connection given back.
    enum ReleaseAction {
        /// Hand it to this waiter.
        case handOver(Connection, to: WaiterID)
        /// It is idle in the pool now.
        case keep
        /// The pool is shut down: close it.
        case close(Connection)
    }

    /// What to do when a slot becomes free (a connection was discarded, or failed to open).
    enum SlotAction {
        /// Nothing: the slot is simply free.
        case none
        /// Let this waiter open a new connection in the slot.
        case openNew(for: WaiterID)
    }

    let maximum: Int
    private(set) var idle: [Connection] = []
    /// Connections open or being opened, in use or idle.
    private(set) var open = 0
    private var waiters: [WaiterID] = []
    private var nextWaiter: UInt64 = 0
    private(set) var isClosed = false

    init(maximum: Int) {
        precondition(maximum > 0, "a pool needs at least one connection")
        self.maximum = maximum
    }

    /// How many callers wait.
    var waiting: Int { waiters.count }

    /// A caller wants a connection.
    mutating func lease() -> LeaseAction {
        if isClosed { return .refuse }
        if let connection = idle.popLast() { return .use(connection) }
        if open < maximum {
            open += 1
            return .openNew
        }
        nextWaiter += 1
        let id = WaiterID(value: nextWaiter)
        waiters.append(id)
        return .wait(id)
    }

    /// A healthy connection comes back.
    mutating func release(_ connection: Connection) -> ReleaseAction {
        if isClosed {
            open -= 1
            return .close(connection)
        }
        if !waiters.isEmpty { return .handOver(connection, to: waiters.removeFirst()) }
        idle.append(connection)
        return .keep
    }

    /// A leased connection was closed (broken), or one being opened failed: its slot is free.
    mutating func slotFreed() -> SlotAction {
        if !isClosed, !waiters.isEmpty { return .openNew(for: waiters.removeFirst()) }
        open -= 1
        return .none
    }

    /// An idle connection was found broken when it was about to be handed out (already popped
    /// by ``lease()``): same as ``slotFreed()``.
    mutating func idleConnectionBroken() -> SlotAction { slotFreed() }

    /// A waiter gave up (its task was cancelled); false when it was already served.
    mutating func cancel(_ id: WaiterID) -> Bool {
        guard let index = waiters.firstIndex(of: id) else { return false }
        waiters.remove(at: index)
        return true
    }

    /// Shuts the pool: returns the idle connections to close and the waiters to fail.
    mutating func close() -> (idle: [Connection], waiters: [WaiterID]) {
        isClosed = true
        let closing = idle
        let failing = waiters
        open -= idle.count
        idle = []
        waiters = []
        return (closing, failing)
    }
}
