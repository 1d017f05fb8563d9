import Logging
public import MireCore
package import MirePQ

extension EventStore {
    /// Runs `read` where `consistency` allows: on one replica connection (which first shows the
    /// token's commit, polled until ``ReadReplica/maximumWait``), else on the primary. A read
    /// that fails on the replica for a reason a retry could fix (unreachable, a lost connection,
    /// a query cancelled by a recovery conflict) runs on the primary: reads are safe to repeat.
    package func routed<T>(
        _ consistency: ReadConsistency, isolation: isolated (any Actor)? = #isolation,
        _ read: (QueryTarget) async throws -> T
    ) async throws -> T {
        guard consistency.usesReplica, let replica = configuration.readReplica else {  // the primary
            return try await read(.pool(pool))
        }
        let outcome: ReplicaOutcome
        do {
            let served: T? = try await replica.pool.withConnection { connection in
                if let token = consistency.token {
                    guard try await Self.waitUntilVisible(token, on: connection, for: replica.maximumWait) else {
                        return nil
                    }
                }
                return try await read(.connection(connection))
            }
            if let served {
                metrics.replicaReads(servedBy: .replica).increment()
                return served
            }
            outcome = .primaryReplicaBehind
        } catch  where Self.isReplicaUnavailable(error) {
            logger.debug("the replica failed a read; reading on the primary", metadata: ["error": "\(error)"])
            outcome = .primaryReplicaUnavailable
        }
        metrics.replicaReads(servedBy: outcome).increment()
        return try await read(.pool(pool))
    }

    /// Whether the standby on `connection` holds the event of `token` (so it has replayed that
    /// commit), polling with a doubling pause up to `limit`.
    private static func waitUntilVisible(_ token: CommitToken, on connection: PGConnection, for limit: Duration)
        async throws -> Bool
    {
        let deadline = ContinuousClock.now + limit
        var pause = Duration.microseconds(500)
        while true {
            let visible = try await connection.query(
                """
                SELECT EXISTS (SELECT 1 FROM mire_events WHERE global_position = \(token.position) AND event_id = \(token.eventID))
                """, prepared: true
            ).single(Bool.self)
            if visible { return true }
            guard ContinuousClock.now + pause < deadline else { return false }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(20))
        }
    }

    private static func isReplicaUnavailable(_ error: any Error) -> Bool {
        let postgres = error as? PGError ?? (error as? MireError)?.underlying as? PGError
        return postgres?.asRead.isRetryable ?? false
    }

}
