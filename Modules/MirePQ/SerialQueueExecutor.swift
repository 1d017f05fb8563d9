import Dispatch
import Foundation

/// A serial executor backed by a private `DispatchQueue`.
///
/// Every ``PGConnection`` runs on one of these, so its blocking libpq calls occupy a
/// Dispatch thread of their own and never a thread of Swift's cooperative pool (which has one
/// thread per core: two blocking queries there would freeze every other task).
final class SerialQueueExecutor: SerialExecutor {
    let queue: DispatchQueue
    /// Shares the connection's handle between this executor's jobs and statements sent by their
    /// callers (see ``ConnectionGate``).
    let gate = ConnectionGate()

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async {
            let previous = RunningExecutor.get()
            RunningExecutor.set(self)
            self.gate.beginJob()
            defer {
                self.gate.endJob()
                RunningExecutor.set(previous)
            }
            job.runSynchronously(on: self.asUnownedSerialExecutor())
        }
    }

    /// Confirms isolation when the runtime asks: closures handed to pre-concurrency code (such as
    /// the standard library's `withUnsafeBufferPointer`) are checked dynamically.
    func checkIsolated() {
        precondition(RunningExecutor.get() === self, "not running on this connection's executor")
    }

    func isIsolatingCurrentContext() -> Bool? {
        RunningExecutor.get() === self
    }

    func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Runs blocking `work` on this executor's queue and resumes the caller with its outcome.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try work() })
            }
        }
    }
}

/// The executor whose job the current thread is running, in a thread-specific slot.
private enum RunningExecutor {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static func get() -> SerialQueueExecutor? {
        pthread_getspecific(key).map { Unmanaged<SerialQueueExecutor>.fromOpaque($0).takeUnretainedValue() }
    }

    static func set(_ executor: SerialQueueExecutor?) {
        pthread_setspecific(key, executor.map { Unmanaged.passUnretained($0).toOpaque() })
    }
}
