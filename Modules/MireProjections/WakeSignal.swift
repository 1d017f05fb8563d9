import Foundation
import MirePQ
import Synchronization

/// Wakes waiting projection loops when a notification arrives; a wait also ends on its timeout.
final class WakeSignal: Sendable {
    private struct State {
        var waiters: [UUID: CheckedContinuation<Void, Never>] = [:]
        var finished: Set<UUID> = []
        var generation: UInt64 = 0
    }
    private let state = Mutex(State())

    /// Counts signals; read it before looking for work, pass it to `wait(after:timeout:)`, and a
    /// signal that arrived while you looked is not lost.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Wakes every current waiter (and any later `wait` that started before this signal).
    func signal() {
        let waiters = state.withLock { state in
            state.generation &+= 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns on the next signal after `generation`, after `timeout`, or when the task is cancelled.
    func wait(after generation: UInt64, timeout: Duration) async {
        if state.withLock({ $0.generation != generation }) { return }
        let id = UUID()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let resumeNow = self.state.withLock { state in
                        if state.finished.remove(id) != nil || state.generation != generation { return true }
                        state.waiters[id] = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask { try? await Task.sleep(for: timeout.atMostADay) }
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
