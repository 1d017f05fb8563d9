/// The rules of a store's background work (wake-ups, snapshot writes), without any threads:
/// jobs are keyed, and a job queued under a key that is still waiting replaces the older one, so
/// the queue holds at most one job per key (one per stream for snapshots, one for wake-ups).
///
/// One runner takes jobs in arrival order while the store runs. When nothing runs the queue
/// (the store is not running as a service), a job is refused and its caller does the work
/// itself or drops it. Finishing lets the runner drain what is queued, then stop.
///
/// `Job` and `Waiter` are generic so that the rules are unit-tested with plain values;
/// ``BackgroundQueue`` uses closures and continuations.
struct BackgroundWorkStateMachine<Job, Waiter> {
    enum Phase: Equatable {
        /// No runner: jobs are refused.
        case stopped
        /// A runner takes jobs.
        case running
        /// The runner finishes what is queued, refusing new jobs, then stops.
        case draining
    }

    private(set) var phase = Phase.stopped
    private var order: [String] = []
    private var jobs: [String: Job] = [:]
    private var parkedRunner: Waiter?
    private var busy = false
    private var idleWaiters: [Waiter] = []

    /// Jobs waiting to run.
    var queued: Int { order.count }

    /// Whether nothing is queued or running.
    var isIdle: Bool { order.isEmpty && !busy }

    enum Submission {
        /// Nothing runs the queue: the caller does the work itself, or drops it.
        case refused
        /// Queued (or replaced an older job under the same key).
        case queued
        /// Queued; resume this parked runner.
        case queuedResumingRunner(Waiter)
    }

    mutating func submit(_ job: Job, key: String) -> Submission {
        guard phase == .running else { return .refused }
        if jobs.updateValue(job, forKey: key) == nil { order.append(key) }
        if let runner = parkedRunner {
            parkedRunner = nil
            return .queuedResumingRunner(runner)
        }
        return .queued
    }

    /// Starts a runner; false when one runs already.
    mutating func start() -> Bool {
        guard phase == .stopped else { return false }
        phase = .running
        return true
    }

    enum Next {
        case run(Job)
        /// Nothing queued: resume these callers waiting for idleness, then park until a job
        /// arrives or the queue finishes.
        case park(idleWaiters: [Waiter])
        /// Drained: resume these callers waiting for idleness; the runner returns.
        case stop(idleWaiters: [Waiter])
    }

    /// What the runner does next (after the job it ran, if any, ended).
    mutating func next() -> Next {
        busy = false
        if !order.isEmpty {
            let key = order.removeFirst()
            busy = true
            // Every queued key has its job: they are added and removed together.
            guard let job = jobs.removeValue(forKey: key) else { return next() }
            return .run(job)
        }
        let waiters = idleWaiters
        idleWaiters = []
        // Stopped already: a runner that was not started (or one of two) stops too instead of
        // parking, which a stopped queue refuses, over and over.
        if phase != .running {
            phase = .stopped
            return .stop(idleWaiters: waiters)
        }
        return .park(idleWaiters: waiters)
    }

    /// Parks the runner; false when it must not wait (a job arrived, or the queue finishes).
    mutating func park(_ runner: Waiter) -> Bool {
        guard order.isEmpty, phase == .running else { return false }
        parkedRunner = runner
        return true
    }

    /// Stops taking jobs; the runner drains the queue. Returns the runner to resume if parked.
    mutating func finish() -> Waiter? {
        guard phase == .running else { return nil }
        phase = .draining
        defer { parkedRunner = nil }
        return parkedRunner
    }

    /// Registers a caller waiting until nothing is queued or running; false when that is so now.
    mutating func waitUntilIdle(_ waiter: Waiter) -> Bool {
        guard !isIdle else { return false }
        idleWaiters.append(waiter)
        return true
    }
}
