import Foundation
import Synchronization

/// Wakes waiting projection loops when a notification arrives; a wait also ends on its timeout.
final class WakeSignal: Sendable {
    private struct State {
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
        var finished: Set<UUID> = []
    }
    private let state = Mutex(State())

    /// Wakes every current waiter.
    func signal() {
        let waiters = state.withLock { state in
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns on the next signal, after `timeout`, or when the task is cancelled.
    func wait(timeout: Duration) async {
        let id = UUID()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.state.withLock { state in
                        if state.finished.remove(id) != nil { return true }
                        state.waiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
            // End the other branch: resume our waiter if it is still registered, or make sure a
            // registration that comes later returns at once.
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
                state.finished.insert(id)
                return nil
            }
            waiter?.resume()
        }
        // If the waiter had already been resumed by a signal, `finished` may hold our id: drop it.
        _ = state.withLock { $0.finished.remove(id) }
    }
}
