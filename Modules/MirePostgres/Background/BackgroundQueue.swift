import Synchronization

/// A queue of keyed background jobs run one at a time by whoever runs the store (see
/// ``EventStore/run()``): the rules are ``BackgroundWorkStateMachine``'s, under a lock.
///
/// ```swift
/// let queued = queue.submit(key: "snapshot account-7") { await write(snapshot) }
/// if !queued { await write(snapshot) }   // nothing runs the store: do it now
/// ```
final class BackgroundQueue: Sendable {
    typealias Job = @Sendable () async -> Void
    private typealias Machine = BackgroundWorkStateMachine<Job, CheckedContinuation<Void, Never>>

    private let state = Mutex(Machine())

    init() {}

    /// Queues `job` under `key`, replacing a job still waiting under it. False when nothing runs
    /// the queue: the caller then does the work itself or drops it.
    func submit(key: String, _ job: @escaping Job) -> Bool {
        switch state.withLock({ $0.submit(job, key: key) }) {
        case .refused: return false
        case .queued: return true
        case .queuedResumingRunner(let runner):
            runner.resume()
            return true
        }
    }

    /// Makes the queue accept jobs; false when it does already. Call ``runJobs()`` next.
    func start() -> Bool {
        state.withLock { $0.start() }
    }

    /// Runs jobs as they come until ``finish()``, then the ones still queued, then returns.
    func runJobs() async {
        while true {
            switch state.withLock({ $0.next() }) {
            case .run(let job):
                await job()
            case .park(let idleWaiters):
                for waiter in idleWaiters { waiter.resume() }
                await withCheckedContinuation { runner in
                    if !state.withLock({ $0.park(runner) }) { runner.resume() }
                }
            case .stop(let idleWaiters):
                for waiter in idleWaiters { waiter.resume() }
                return
            }
        }
    }

    /// Refuses new jobs; ``runJobs()`` returns once the queued ones ran.
    func finish() {
        state.withLock { $0.finish() }?.resume()
    }

    /// Returns when nothing is queued or running.
    func waitUntilIdle() async {
        await withCheckedContinuation { waiter in
            if !state.withLock({ $0.waitUntilIdle(waiter) }) { waiter.resume() }
        }
    }

    /// Jobs waiting to run.
    var queued: Int { state.withLock { $0.queued } }

    /// Whether a runner takes jobs (or is finishing them).
    var isRunning: Bool { state.withLock { $0.phase != .stopped } }
}
