internal import CLibPQ
import Foundation

extension PGConnection {
    /// What the pipeline expects back, in order, for each message it sent.
    private enum Expected {
        /// The result of preparing `sql` as `name`.
        case prepare(name: String, sql: String)
        /// The result of statement `index`.
        case statement(index: Int)
    }

    /// Sends every statement (after any prelude), one sync, then reads every result (see
    /// ``pipeline(_:prepared:)``); returns the statements' results, the prelude's left out.
    ///
    /// Every result is checked, the sync's included: an error reported at the sync (an implicit
    /// transaction that fails at commit) is thrown, never dropped. A connection whose pipeline
    /// cannot be taken to its end (a send refused half-way, a lost connection, pipeline mode not
    /// left) is closed, so it never goes back to a pool.
    func executePipeline(
        _ statements: [PGQuery], prepared: Bool, unpreparedTail tail: [PGQuery] = [], commits: Bool = false
    ) throws -> [PGRows] {
        consumeIdleInput()
        guard !handle.isBroken else {
            settle()
            throw connectionLost(nil, mayHaveExecuted: false)
        }
        // Without an open transaction, the pipeline is one implicit transaction that commits at
        // its sync: a lost reply leaves its outcome unknown.
        let mayCommit = commits || isAutocommit
        let prelude = takePrelude()
        let all = prelude + statements + tail
        let preludeCount = prelude.count
        let preparedRange = preludeCount..<(preludeCount + statements.count)
        if all.isEmpty { return [] }
        defer { settle() }
        let connection = handle.pointer
        guard PQenterPipelineMode(connection) == 1 else {
            // The prelude (a transaction's BEGIN) is gone with this call: nobody may go on here.
            let error = PGError(code: .client, message: "could not enter pipeline mode: \(handle.errorMessage)")
            close()
            throw error
        }
        // From here on, leaving early means nobody knows what the server has seen: close.
        var finished = false
        defer { if !finished { close() } }

        // Non-blocking while sending: a large batch must not deadlock with the server's replies.
        PQsetnonblocking(connection, 1)
        var expected: [Expected] = []
        var newlyPrepared: [String: String] = [:]
        for (index, statement) in all.enumerated() {
            let sent: Int32
            if prepared && preparedRange.contains(index) {
                let name: String
                if let known = preparedStatements.withLock({ $0.name(for: statement.sql) })
                    ?? newlyPrepared[statement.sql]
                {
                    name = known
                } else {
                    name = "mire_\(preparedStatements.withLock { $0.count } + newlyPrepared.count + 1)"
                    let queued = statement.bindings.types.withUnsafeBufferPointer { types in
                        PQsendPrepare(connection, name, statement.sql, Int32(types.count), types.baseAddress)
                    }
                    guard queued == 1 else { throw sendFailure(statement.sql, anySent: !expected.isEmpty && mayCommit) }
                    expected.append(.prepare(name: name, sql: statement.sql))
                    newlyPrepared[statement.sql] = name
                }
                sent = withParameters(statement.bindings) { count, _, values, lengths, formats in
                    name.withCString { PQsendQueryPrepared(connection, $0, count, values, lengths, formats, 1) }
                }
            } else {
                sent = withParameters(statement.bindings) { count, types, values, lengths, formats in
                    PQsendQueryParams(connection, statement.sql, count, types, values, lengths, formats, 1)
                }
            }
            guard sent == 1 else { throw sendFailure(statement.sql, anySent: !expected.isEmpty && mayCommit) }
            expected.append(.statement(index: index))
        }
        // One flush after the sync: the whole pipeline leaves in as few packets as it fits, so
        // the server wakes once, not once per statement. (libpq sends by itself whenever 8 KB
        // are buffered; in non-blocking mode it never waits, so a large batch cannot deadlock,
        // and `flush` reads replies while it waits for room.)
        guard PQpipelineSync(connection) == 1 else { throw sendFailure(nil, anySent: mayCommit) }
        try flush(mayCommit: mayCommit)
        PQsetnonblocking(connection, 0)

        var results: [PGRows?] = Array(repeating: nil, count: all.count)
        var firstError: PGError?
        func record(_ error: PGError) { if firstError == nil { firstError = error } }
        for item in expected {
            let sql: String
            switch item {
            case .prepare(_, let text): sql = text
            case .statement(let index): sql = all[index].sql
            }
            guard let result = PQgetResult(connection) else { throw connectionLost(sql, mayHaveExecuted: mayCommit) }
            if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)
                record(PGError(code: .server, message: "statement skipped: an earlier one failed", query: sql))
            } else {
                do {
                    let rows = try check(result, query: sql, mayCommit: mayCommit)
                    switch item {
                    case .prepare(let name, let text): preparedStatements.withLock { $0.insert(name, for: text) }
                    case .statement(let index): results[index] = rows
                    }
                } catch let error as PGError {
                    if error.code == .connectionLost { throw error }
                    record(error)
                }
            }
            // Each message's results end with a NULL; anything else is not ours to ignore.
            while let extra = PQgetResult(connection) {
                PQclear(extra)
                record(PGError(code: .client, message: "an unexpected extra result in the pipeline", query: sql))
            }
        }
        // The sync's own result; an error before it (an implicit transaction that failed to
        // commit) comes first and is the pipeline's outcome.
        while true {
            guard let result = PQgetResult(connection) else { throw connectionLost(nil, mayHaveExecuted: mayCommit) }
            let status = PQresultStatus(result)
            if status == PGRES_PIPELINE_SYNC {
                PQclear(result)
                break
            }
            do {
                _ = try check(result, query: nil, mayCommit: mayCommit)
            } catch let error as PGError {
                if error.code == .connectionLost { throw error }
                record(error)
            }
        }
        guard PQexitPipelineMode(connection) == 1 else {
            throw PGError(code: .client, message: "could not leave pipeline mode: \(handle.errorMessage)")
        }
        finished = true
        if let firstError { throw classifyingReadOnlyServer(firstError) }
        return try results.dropFirst(preludeCount).map { rows in
            guard let rows else {
                throw PGError(code: .client, message: "a pipelined statement returned nothing")
            }
            return rows
        }
    }

    /// Flushes libpq's send buffer; while the socket is not writable, reads what the server sends
    /// so it never blocks on a full reply buffer.
    private func flush(mayCommit: Bool) throws {
        let connection = handle.pointer
        while true {
            let status = PQflush(connection)
            if status == 0 { return }
            if status < 0 { throw sendFailure(nil, anySent: mayCommit) }
            var descriptor = pollfd(fd: PQsocket(connection), events: Int16(POLLIN | POLLOUT), revents: 0)
            _ = poll(&descriptor, 1, 1000)
            if descriptor.revents & Int16(POLLIN) != 0, PQconsumeInput(connection) == 0 {
                throw sendFailure(nil, anySent: mayCommit)
            }
        }
    }

    /// A statement could not be sent: the connection broke, or libpq refused it.
    private func sendFailure(_ sql: String?, anySent: Bool) -> PGError {
        if handle.isBroken { return connectionLost(sql, mayHaveExecuted: anySent) }
        return PGError(
            code: .client, message: "libpq refused to send a statement: \(handle.errorMessage)", query: sql)
    }
}
