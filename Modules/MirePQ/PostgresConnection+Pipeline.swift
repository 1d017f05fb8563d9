internal import CLibPQ
import Foundation

extension PostgresConnection {
    /// Sends every statement, one sync, then reads every result (see ``pipeline(_:)``).
    func executePipeline(_ statements: [PostgresQuery]) throws -> [PostgresRows] {
        guard !handle.isBroken else { throw PostgresError(code: .connectionLost, message: "the connection is broken") }
        if statements.isEmpty { return [] }
        let connection = handle.pointer
        guard PQenterPipelineMode(connection) == 1 else {
            throw PostgresError(code: .client, message: "could not enter pipeline mode: \(handle.errorMessage)")
        }
        // Non-blocking while sending: a large batch must not deadlock with the server's replies.
        PQsetnonblocking(connection, 1)
        defer {
            PQsetnonblocking(connection, 0)
            PQexitPipelineMode(connection)
        }
        for statement in statements {
            let sent = withParameters(statement.bindings) { count, types, values, lengths, formats in
                PQsendQueryParams(connection, statement.sql, count, types, values, lengths, formats, 1)
            }
            guard sent == 1 else { throw brokenPipeline(statement.sql) }
            try flush(whileReading: true)
        }
        guard PQpipelineSync(connection) == 1 else { throw brokenPipeline(nil) }
        try flush(whileReading: true)
        PQsetnonblocking(connection, 0)

        var results: [PostgresRows] = []
        var firstError: (any Error)?
        for statement in statements {
            let result = PQgetResult(connection)
            if let result, PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)
                if firstError == nil {
                    firstError = PostgresError(
                        code: .server, message: "statement skipped: an earlier one failed", query: statement.sql)
                }
            } else {
                do {
                    results.append(try check(result, query: statement.sql))
                } catch {
                    if firstError == nil { firstError = error }
                }
            }
            // Each statement's results end with a NULL.
            while let extra = PQgetResult(connection) { PQclear(extra) }
            if handle.isBroken { break }
        }
        if !handle.isBroken {
            // Finally the sync's own result.
            if let sync = PQgetResult(connection) { PQclear(sync) }
        }
        if let firstError { throw firstError }
        return results
    }

    /// Flushes libpq's send buffer; while the socket is not writable, reads what the server sends
    /// so it never blocks on a full reply buffer.
    private func flush(whileReading: Bool) throws {
        let connection = handle.pointer
        while true {
            let status = PQflush(connection)
            if status == 0 { return }
            if status < 0 { throw brokenPipeline(nil) }
            var descriptor = pollfd(fd: PQsocket(connection), events: Int16(POLLIN | POLLOUT), revents: 0)
            _ = poll(&descriptor, 1, 1000)
            if descriptor.revents & Int16(POLLIN) != 0, PQconsumeInput(connection) == 0 {
                throw brokenPipeline(nil)
            }
        }
    }

    private func brokenPipeline(_ sql: String?) -> PostgresError {
        PostgresError(
            code: handle.isBroken ? .connectionLost : .client,
            message: "pipeline failed: \(handle.errorMessage)",
            query: sql
        )
    }
}
