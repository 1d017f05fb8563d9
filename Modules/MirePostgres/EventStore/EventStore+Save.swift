import Foundation
public import MireCore
@_spi(Internals) import MireCore
import MirePQ

extension EventStore {
    /// Saves the events recorded on `root` in one round trip, expecting the stream to be exactly
    /// at the version `root` was loaded at. On success `root` is at the new version with nothing
    /// left to save; on failure `root` is unchanged.
    ///
    /// Saving the same root again after a failure is safe: its events keep their ids, so a save
    /// whose first attempt was stored (its reply lost) is reported as stored, at the version and
    /// positions where it landed — never twice.
    ///
    /// ```swift
    /// var account = try await store.loadOrDefault(Account.self, id: "acc-1")
    /// try account.deposit(50)
    /// try await store.save(&account)
    /// ```
    ///
    /// - Throws: `MireError` `concurrencyConflict` (with stream, expected and actual version)
    ///   when another writer saved first: load again and retry, or use ``update(_:id:retry:isolation:_:)``.
    ///   `commitOutcomeUnknown` when the connection was lost before the reply: save `root` again.
    @discardableResult
    public func save<A: Aggregate>(_ root: inout AggregateRoot<A>) async throws -> AppendResult {
        guard root.hasUncommittedEvents else {
            return AppendResult(stream: root.id, version: root.version, positions: [], wasAlreadyStored: false)
        }
        let saving = root
        let result = try await measured(.save, category: A.category) {
            try await traced("mire.save", stream: saving.id) { span in
                span.recordAttributes {
                    $0["mire.expected_version"] = "\(saving.expectedVersion)"
                    $0["mire.event_count"] = saving.uncommittedEvents.count
                }
                let result = try await appendCommitted(
                    carryingTraceContext(try Self.encode(saving)), to: saving.id, expecting: saving.expectedVersion)
                span.recordAttributes { $0["mire.version"] = result.version }
                return result
            }
        }
        let previousVersion = root.version
        try Self.markSaved(&root, by: result)
        if !result.wasAlreadyStored {
            await configuration.snapshots?.didSave(root, previousVersion: previousVersion, store: self)
        }
        return result
    }

    /// Saves several aggregates atomically, in one round trip: every stream advances or none
    /// does (a conflict on any rejects the whole batch). Like a single save, the same batch may
    /// be saved again after an unknown outcome.
    ///
    /// ```swift
    /// try await store.save(&accounts)   // [AggregateRoot<Account>]
    /// ```
    @discardableResult
    public func save<A: Aggregate>(_ roots: inout [AggregateRoot<A>]) async throws -> [AppendResult] {
        let pending = roots.indices.filter { roots[$0].hasUncommittedEvents }
        let appends = try pending.map { index in
            StreamAppend(
                stream: roots[index].id, expecting: roots[index].expectedVersion,
                events: carryingTraceContext(try Self.encode(roots[index])))
        }
        let results = try await measured(.save, category: A.category) {
            try await traced("mire.save") { span in
                span.recordAttributes { $0["mire.stream_count"] = appends.count }
                return try await append(appends)
            }
        }
        for (index, result) in zip(pending, results) {
            let previousVersion = roots[index].version
            try Self.markSaved(&roots[index], by: result)
            if !result.wasAlreadyStored {
                await configuration.snapshots?.didSave(roots[index], previousVersion: previousVersion, store: self)
            }
        }
        return results
    }

    /// Marks `root`'s recorded events as stored at `result`, after checking that the result
    /// describes exactly them: the state of `root` is the stream's state at that version only
    /// when its events landed right after the version it was loaded at.
    package static func markSaved<A: Aggregate>(_ root: inout AggregateRoot<A>, by result: AppendResult) throws {
        guard result.version == root.currentVersion else {
            throw MireError(
                code: .eventIDReused,
                message: "the events of this save are stored already, but end at version \(result.version), "
                    + "not at \(root.currentVersion) where this aggregate expected them",
                stream: root.id.rawValue, version: result.version,
                recovery: "these event ids were saved before from another copy of the aggregate: load it again"
            )
        }
        root.markSaved(version: result.version)
    }

    /// Appends ready-made events to a stream, bypassing aggregates, in one round trip.
    ///
    /// ```swift
    /// let stream = try StreamID(category: "account", id: "acc-1")
    /// try await store.append([try NewEvent(Account.self, .deposited(amount: 5))], to: stream, expecting: .streamExists)
    /// ```
    @discardableResult
    public func append(_ events: [NewEvent], to stream: StreamID, expecting expected: ExpectedVersion) async throws
        -> AppendResult
    {
        try await traced("mire.append", stream: stream) { span in
            span.recordAttributes {
                $0["mire.expected_version"] = "\(expected)"
                $0["mire.event_count"] = events.count
            }
            let result = try await appendCommitted(events, to: stream, expecting: expected)
            span.recordAttributes {
                $0["mire.version"] = result.version
                $0["mire.already_stored"] = result.wasAlreadyStored
            }
            return result
        }
    }

    /// Appends on a pooled connection (its own transaction) and wakes projections once the events
    /// are committed: the work of ``append(_:to:expecting:)`` and of a save, inside their spans.
    private func appendCommitted(_ events: [NewEvent], to stream: StreamID, expecting expected: ExpectedVersion)
        async throws -> AppendResult
    {
        let result = try await append(events, to: stream, expecting: expected, on: .pool(pool)).result
        if !result.positions.isEmpty { didCommitEvents() }
        return result
    }

    /// Appends on `target` (a pooled connection, or one holding a transaction); also returns the
    /// writing transaction's id when this call inserted the events.
    package func append(
        _ events: [NewEvent], to stream: StreamID, expecting expected: ExpectedVersion, on target: QueryTarget
    ) async throws -> (result: AppendResult, transactionID: UInt64?) {
        try Self.refuseNegativeVersion(expected, in: stream)
        try Self.refuseRepeatedIDs(events, in: stream)
        guard !events.isEmpty else {
            // Nothing to store: no stream row is created. Report the version as it stands, read
            // where the append would have run (inside its transaction, if any).
            let version: Int64
            do {
                version =
                    try await target.query(
                        "SELECT version FROM mire_streams WHERE stream_id = \(stream.rawValue)"
                    ).first?.decode(Int64.self, at: 0) ?? 0
            } catch {
                throw MireError.database(error, stream: stream, doing: "reading the stream's version", reading: true)
            }
            guard expected.isSatisfied(by: version) else {
                throw MireError(
                    code: .concurrencyConflict,
                    message: "the append expected \(expected) but the stream is at version \(version)",
                    stream: stream.rawValue, version: version, expected: expected,
                    recovery: "another writer saved first: load again and retry")
            }
            return (AppendResult(stream: stream, version: version, positions: [], wasAlreadyStored: false), nil)
        }
        do {
            return try await target.withConnection { connection in
                if let hot = AppendStatement.hot(stream: stream, expected: expected, events: events) {
                    do {
                        let rows = try await connection.query(hot, prepared: true)
                        if !rows.isEmpty { return try AppendStatement.result(rows, stream: stream, events: events) }
                    } catch let error as PGError
                        where target.isAutocommit && error.sqlState == "23505"
                        && error.constraint == Self.eventIDConstraint
                    {
                        // An id of this save is stored: the hot statement rolled back, and the
                        // complete one says whether it is this very save (where it was stored)
                        // or another (eventIDReused). Inside a transaction the error has aborted
                        // it, and stands.
                    }
                }
                let rows = try await connection.query(
                    AppendStatement.complete(stream: stream, expected: expected, events: events), prepared: true)
                return try AppendStatement.result(rows, stream: stream, events: events)
            }
        } catch {
            throw Self.mapAppendError(error, stream: stream, expected: expected, autocommit: target.isAutocommit)
        }
    }

    /// Appends to several streams on `target` (which holds a transaction) in one round trip: the
    /// hot statements pipelined; any that changed nothing is settled by the complete statement
    /// after it. Returns each append's result and the writing transaction's id.
    package func append(_ appends: [StreamAppend], on target: QueryTarget) async throws -> [(
        result: AppendResult, transactionID: UInt64?
    )] {
        for append in appends {
            try Self.refuseNegativeVersion(append.expected, in: append.stream)
            try Self.refuseRepeatedIDs(append.events, in: append.stream)
        }
        try Self.refuseRepeatedIDs(appends.flatMap(\.events), in: nil)
        let statements = appends.map {
            AppendStatement.hot(stream: $0.stream, expected: $0.expected, events: $0.events)
                ?? AppendStatement.complete(stream: $0.stream, expected: $0.expected, events: $0.events)
        }
        do {
            let results = try await target.pipeline(statements)
            var outcomes: [(AppendResult, UInt64?)] = []
            for (append, rows) in zip(appends, results) {
                if !rows.isEmpty {
                    outcomes.append(try AppendStatement.result(rows, stream: append.stream, events: append.events))
                    continue
                }
                let settled = try await target.query(
                    AppendStatement.complete(stream: append.stream, expected: append.expected, events: append.events))
                outcomes.append(try AppendStatement.result(settled, stream: append.stream, events: append.events))
            }
            return outcomes
        } catch {
            let failing = appends.first { append in
                (error as? PGError)?.message.contains("stream \(append.stream.rawValue) is at version") == true
            }
            throw Self.mapAppendError(
                error, stream: failing?.stream, expected: failing?.expected, autocommit: target.isAutocommit)
        }
    }

    /// Appends to several streams atomically in one round trip (`BEGIN`, one statement per
    /// stream, `COMMIT`, pipelined): all or nothing. Streams are locked in id order, so concurrent
    /// batches cannot deadlock. Results come back in the order given.
    ///
    /// ```swift
    /// try await store.append([
    ///     StreamAppend(stream: a, expecting: .exact(3), events: [debit]),
    ///     StreamAppend(stream: b, expecting: .exact(7), events: [credit]),
    /// ])
    /// ```
    ///
    /// - Throws: `MireError` `invalidOperation` when a stream appears twice, `repeatedEventID`
    ///   when an event id does; `concurrencyConflict` naming the stream whose expectation failed;
    ///   `commitOutcomeUnknown` when the reply was lost (append the same batch again).
    @discardableResult
    public func append(_ batch: [StreamAppend]) async throws -> [AppendResult] {
        try await traced("mire.append") { span in
            span.recordAttributes { $0["mire.stream_count"] = batch.count }
            return try await appendBatch(batch)
        }
    }

    private func appendBatch(_ batch: [StreamAppend]) async throws -> [AppendResult] {
        let streams = batch.map(\.stream)
        guard Set(streams).count == streams.count else {
            throw MireError(
                code: .invalidOperation, message: "a batch names the same stream twice",
                recovery: "merge the events for one stream into one StreamAppend"
            )
        }
        for append in batch { try Self.refuseNegativeVersion(append.expected, in: append.stream) }
        try Self.refuseRepeatedIDs(batch.flatMap(\.events), in: nil)
        var results = try await batch.asyncMap { append in
            append.events.isEmpty
                ? try await self.append([], to: append.stream, expecting: append.expected, on: .pool(pool)).result
                : AppendResult(stream: append.stream, version: 0, positions: [], wasAlreadyStored: false)
        }
        let work = batch.enumerated().filter { !$0.element.events.isEmpty }.sorted {
            $0.element.stream.rawValue < $1.element.stream.rawValue
        }
        if work.isEmpty { return results }
        if work.count == 1, let only = work.first {
            results[only.offset] = try await appendCommitted(
                only.element.events, to: only.element.stream, expecting: only.element.expected)
            return results
        }
        let statements = work.map {
            AppendStatement.complete(
                stream: $0.element.stream, expected: $0.element.expected, events: $0.element.events)
        }
        do {
            let rowsList = try await pool.withTransaction { connection in
                try await connection.commit(after: statements, prepared: true)
            }
            for (item, rows) in zip(work, rowsList) {
                results[item.offset] = try AppendStatement.result(
                    rows, stream: item.element.stream, events: item.element.events
                ).0
            }
        } catch {
            // Name the stream whose expectation failed, when the server said which.
            let failing = work.first { append in
                (error as? PGError)?.message.contains("stream \(append.element.stream.rawValue) is at version")
                    == true
            }
            throw Self.mapAppendError(
                error, stream: failing?.element.stream, expected: failing?.element.expected, autocommit: true)
        }
        didCommitEvents()
        return results
    }

    package static func encode<A: Aggregate>(_ root: AggregateRoot<A>) throws(MireError) -> [NewEvent] {
        let codec = EventCodec<A>()
        var events: [NewEvent] = []
        events.reserveCapacity(root.uncommittedEvents.count)
        for pending in root.uncommittedEvents {
            let (type, payload) = try codec.encode(pending.event)
            events.append(NewEvent(type: type, payload: payload, metadata: pending.metadata))
        }
        return events
    }

    /// The unique index on event ids.
    static let eventIDConstraint = "mire_events_event_id_unique"

    /// Refuses an expectation of a negative version (no stream has one; on the wire, negative
    /// numbers stand for the other expectations): a programming error, caught before anything
    /// is sent.
    package static func refuseNegativeVersion(_ expected: ExpectedVersion, in stream: StreamID) throws(MireError) {
        if case .exact(let version) = expected, version < 0 {
            throw MireError(
                code: .invalidOperation,
                message: "the save expects version \(version), and versions start at 0 (no events)",
                stream: stream.rawValue,
                recovery: "expect .exact(n) with n ≥ 0, or .noStream, .streamExists or .any")
        }
    }

    /// Refuses an event id that appears twice among `events`: a programming error, caught
    /// before anything is sent.
    package static func refuseRepeatedIDs(_ events: [NewEvent], in stream: StreamID?) throws(MireError) {
        guard events.count > 1 else { return }
        var seen = Set<UUID>(minimumCapacity: events.count)
        for event in events where !seen.insert(event.metadata.eventID).inserted {
            throw MireError(
                code: .repeatedEventID,
                message: "event id \(event.metadata.eventID) appears twice in one save",
                stream: stream?.rawValue,
                recovery: "give every event its own EventMetadata (a new event id)"
            )
        }
    }

    /// Turns the append statements' failures into typed errors.
    static func mapAppendError(_ error: any Error, stream: StreamID?, expected: ExpectedVersion?, autocommit: Bool)
        -> any Error
    {
        guard let postgres = error as? PGError else { return error }
        switch postgres.sqlState {
        case "P0M02":
            let actual = postgres.detail.flatMap { detail in
                detail.split(separator: " ").first { $0.hasPrefix("actual=") }.flatMap { Int64($0.dropFirst(7)) }
            }
            return MireError(
                code: .concurrencyConflict,
                message:
                    "the save expected \(expected.map { "\($0)" } ?? "another version") but the stream is at version \(actual.map(String.init) ?? "?")",
                stream: stream?.rawValue,
                version: actual,
                expected: expected,
                recovery: "another writer saved first: load the aggregate again and retry the command",
                underlying: postgres
            )
        case "P0M03":
            return MireError(
                code: .eventIDReused,
                message: "an event id of this save is already stored with different content, or in another place",
                stream: stream?.rawValue,
                recovery: "give every new event a new id; reuse ids only to retry the identical save",
                underlying: postgres
            )
        case "23505" where postgres.constraint == eventIDConstraint:
            return MireError(
                code: .eventIDReused,
                message: "an event id of this save is already stored in another stream or at another version",
                stream: stream?.rawValue,
                recovery: "give every new event a new id; reuse ids only to retry the identical save",
                underlying: postgres
            )
        default:
            if postgres.code == .commitOutcomeUnknown
                || (autocommit && postgres.code == .connectionLost && postgres.mayHaveExecuted)
            {
                return MireError(
                    code: .commitOutcomeUnknown,
                    message: "the connection was lost before the save's reply arrived; it may or may not be stored",
                    stream: stream?.rawValue,
                    recovery: "save the same events again (same ids): the store then reports where they were stored",
                    underlying: postgres
                )
            }
            return MireError.database(postgres, stream: stream, doing: "appending events")
        }
    }
}

/// Events for one stream within an atomic multi-stream append.
///
/// ```swift
/// StreamAppend(stream: account, expecting: .exact(4), events: [try NewEvent(Account.self, .withdrawn(amount: 10))])
/// ```
public struct StreamAppend: Sendable, Hashable {
    /// The stream.
    public var stream: StreamID
    /// What the stream's version must be.
    public var expected: ExpectedVersion
    /// The events, in order.
    public var events: [NewEvent]

    /// Events for `stream`, expecting `expected`.
    public init(stream: StreamID, expecting expected: ExpectedVersion, events: [NewEvent]) {
        self.stream = stream
        self.expected = expected
        self.events = events
    }
}

extension Array {
    /// `map` with an async transform, in order.
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        results.reserveCapacity(count)
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
