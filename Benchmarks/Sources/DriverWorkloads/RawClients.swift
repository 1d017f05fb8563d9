import Foundation
public import MirePostgres
import Synchronization

/// The raw side of a concurrent benchmark: `clients` libpq connections, one thread each (as
/// pgbench runs them; `concurrentPerform` would run only as many as there are cores).
public enum RawClients {
    /// Runs `total` units over `clients` connections to `conninfo` and returns the units that
    /// succeeded per second. `prepare` runs once per connection before the clock starts; a unit
    /// that throws is rolled back and not counted.
    ///
    /// ```swift
    /// let rate = try await RawClients.rate(conninfo: conninfo, clients: 8, total: 4_000) { raw, client, index in … }
    /// ```
    public static func rate(
        conninfo: String, clients: Int, total: Int,
        prepare: @escaping @Sendable (_ connection: RawLibPQ, _ client: Int) throws -> Void = { _, _ in },
        unit: @escaping @Sendable (_ connection: RawLibPQ, _ client: Int, _ index: Int) throws -> Void
    ) async throws -> Double {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                do {
                    let connections = try (0..<clients).map { _ in try RawLibPQ(conninfo: conninfo) }
                    for (client, connection) in connections.enumerated() { try prepare(connection, client) }
                    let failures = Atomic(0)
                    let start = Date()
                    let done = DispatchGroup()
                    for client in 0..<clients {
                        done.enter()
                        Thread.detachNewThread {
                            let share = total / clients + (client < total % clients ? 1 : 0)
                            for index in 0..<share {
                                do { try unit(connections[client], client, index) } catch {
                                    failures.add(1, ordering: .relaxed)
                                    _ = try? connections[client].run("ROLLBACK", [])
                                }
                            }
                            done.leave()
                        }
                    }
                    done.wait()
                    let seconds = Date().timeIntervalSince(start)
                    continuation.resume(returning: Double(total - failures.load(ordering: .relaxed)) / seconds)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}

extension EventStore {
    /// Appends `appends` in atomic batches of `size` streams (setting up a benchmark's streams).
    ///
    /// ```swift
    /// try await store.append(opening, inBatchesOf: 200)
    /// ```
    public func append(_ appends: [StreamAppend], inBatchesOf size: Int) async throws {
        for start in stride(from: 0, to: appends.count, by: size) {
            try await append(Array(appends[start..<min(start + size, appends.count)]))
        }
    }
}
