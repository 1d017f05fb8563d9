import Synchronization

/// A value shared between tasks in a test, behind a lock (a class, so closures can capture it).
///
/// ```swift
/// let seen = Locked<[Int]>([])
/// await withTaskGroup(of: Void.self) { group in group.addTask { seen.withLock { $0.append(1) } } }
/// ```
public final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    /// A lock around `value`.
    public init(_ value: Value) { mutex = Mutex(value) }

    /// Runs `body` with exclusive access to the value.
    public func withLock<R: Sendable>(_ body: (inout sending Value) throws -> sending R) rethrows -> R {
        try mutex.withLock(body)
    }

    /// The current value.
    public var value: Value { mutex.withLock { $0 } }
}
