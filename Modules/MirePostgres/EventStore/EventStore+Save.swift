import Foundation
public import MireCore
import MirePQ

extension EventStore {
    /// Saves the events recorded on `root` in one round trip, expecting the stream to be exactly
    /// at the version `root` was loaded at. On success `root` is at the new version with nothing
    /// left to save; on failure nothing was written and `root` is unchanged.
    ///
    /// ```swift
    /// var account = try await store.loadOrDefault(Account.self, id: "acc-1")
    /// try account.deposit(50)
    /// try await store.save(&account)
    /// ```
    ///
    /// - Throws: ``MireError`` `concurrencyConflict` (with stream, expected and actual version)
    ///   when another writer saved first: load again and retry, or use ``update(_:id:retry:isolation:_:)``.
    @discardableResult
    public func save<A: Aggregate>(_ root: inout AggregateRoot<A>) async throws -> AppendResult {
        guard root.hasUncommittedEvents else {
            return AppendResult(stream: root.id, version: root.version, positions: [], wasAlreadyStored: false)
        }
        let events = try Self.encode(root)
        let previousVersion = root.version
        let result = try await append(events, to: root.id, expecting: root.expectedVersion)
        root.markSaved(version: result.version)
        await configuration.snapshots?.didSave(root, previousVersion: previousVersion, store: self)
        return result
    }

    /// Saves several aggregates atomically, in one round trip: every stream advances or none
    /// does (a conflict on any rejects the whole batch).
    ///
    /// ```swift
    /// try await store.save(&accounts)   // [AggregateRoot<Account>]
    /// ```
    @discardableResult
    public func save<A: Aggregate>(_ roots: inout [AggregateRoot<A>]) async throws -> [AppendResult] {
        let pending = roots.indices.filter { roots[$0].hasUncommittedEvents }
        let appends = try pending.map { index in
            StreamAppend(
                stream: roots[index].id, expecting: roots[index].expectedVersion, events: try Self.encode(roots[index]))
        }
        let results = try await append(appends)
        for (index, result) in zip(pending, results) {
            let previousVersion = roots[index].version
            roots[index].markSaved(version: result.version)
            await configuration.snapshots?.didSave(roots[index], previousVersion: previousVersion, store: self)
        }
        return results
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
        let result = try await append(events, to: stream, expecting: expected, on: .pool(pool))
        if !result.wasAlreadyStored { didCommitEvents() }
        return result
    }

    /// Appends on `target` (a pooled connection, or one holding a transaction).
    package func append(
        _ events: [NewEvent], to stream: StreamID, expecting expected: ExpectedVersion, on target: QueryTarget
    )
        async throws -> AppendResult
    {
        let statement = Self.appendStatement(stream: stream, expected: expected, events: events)
        do {
            let rows = try await target.query(statement)
            return try Self.appendResult(rows, stream: stream)
        } catch {
            throw Self.mapAppendError(error, stream: stream, expected: expected)
        }
    }

    /// Appends to several streams atomically in one round trip (pipeline mode, one implicit
    /// transaction): all or nothing. Streams are locked in id order, so concurrent batches
    /// cannot deadlock. Results come back in the order given.
    ///
    /// ```swift
    /// try await store.append([
    ///     StreamAppend(stream: a, expecting: .exact(3), events: [debit]),
    ///     StreamAppend(stream: b, expecting: .exact(7), events: [credit]),
    /// ])
    /// ```
    @discardableResult
    public func append(_ batch: [StreamAppend]) async throws -> [AppendResult] {
        let work = batch.enumerated().filter { !$0.element.events.isEmpty }.sorted {
            $0.element.stream.rawValue < $1.element.stream.rawValue
        }
        guard !work.isEmpty else {
            return batch.map { AppendResult(stream: $0.stream, version: 0, positions: [], wasAlreadyStored: false) }
        }
        let streams = Set(work.map(\.element.stream))
        guard streams.count == work.count else {
            throw MireError(
                code: .concurrencyConflict, message: "a batch names the same stream twice",
                recovery: "merge the events for one stream into one StreamAppend"
            )
        }
        let statements = work.map {
            Self.appendStatement(stream: $0.element.stream, expected: $0.element.expected, events: $0.element.events)
        }
        let rowsList: [PostgresRows]
        do {
            rowsList = try await pool.withConnection { connection in
                work.count == 1
                    ? [try await connection.query(statements[0], prepared: true)]
                    : try await connection.pipeline(statements)
            }
        } catch {
            // Name the stream whose expectation failed, when the server said which.
            let failing = work.first { append in
                (error as? PostgresError)?.message.contains("stream \(append.element.stream.rawValue) is at version")
                    == true
            }
            throw Self.mapAppendError(error, stream: failing?.element.stream, expected: failing?.element.expected)
        }
        var results = batch.map { AppendResult(stream: $0.stream, version: 0, positions: [], wasAlreadyStored: false) }
        for (item, rows) in zip(work, rowsList) {
            results[item.offset] = try Self.appendResult(rows, stream: item.element.stream)
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

    static func appendStatement(stream: StreamID, expected: ExpectedVersion, events: [NewEvent]) -> PostgresQuery {
        let ids = events.map(\.metadata.eventID)
        let types = events.map(\.type)
        let payloads = events.map { PostgresJSONB(utf8: $0.payload) }
        let metadata = events.map { PostgresJSONB(utf8: $0.metadata.storedJSON()) }
        return """
            SELECT new_version, positions, duplicate
            FROM mire_append(\(stream.rawValue), \(stream.category), \(expected.encoded), \(ids), \(types), \(payloads), \(metadata))
            """
    }

    static func appendResult(_ rows: PostgresRows, stream: StreamID) throws -> AppendResult {
        guard let row = rows.first else {
            throw MireError(code: .database, message: "mire_append returned no row", stream: stream.rawValue)
        }
        let (version, positions, duplicate) = try row.decode((Int64, [Int64], Bool).self)
        return AppendResult(stream: stream, version: version, positions: positions, wasAlreadyStored: duplicate)
    }

    /// Turns the append function's SQLSTATEs into typed errors.
    static func mapAppendError(_ error: any Error, stream: StreamID?, expected: ExpectedVersion?) -> any Error {
        guard let postgres = error as? PostgresError else { return error }
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
                message: "an event id of this save is already stored with different content",
                stream: stream?.rawValue,
                recovery: "give every new event a new id; reuse ids only to retry the identical save",
                underlying: postgres
            )
        default:
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
