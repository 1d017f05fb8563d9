public import Foundation
public import MireCore
@_spi(Internals) import MireCore
public import MirePostgres
import Synchronization

/// An event store in memory, with the semantics of ``EventStore`` on PostgreSQL: versions from
/// 1 without gaps, `concurrencyConflict` (stream, expected, actual) checked before anything is
/// stored, idempotent event ids (saving the same events again reports where they were stored;
/// an id stored elsewhere or with other content is `eventIDReused`, one repeated within a save
/// `repeatedEventID`), atomic batches. For unit tests of commands and services that take
/// `some AggregateStore`; the behavioural tests run against both stores so they cannot drift.
///
/// ```swift
/// let store = InMemoryEventStore()
/// var account = try await store.loadOrDefault(Account.self, id: "acc-1")
/// try account.deposit(100)
/// try await store.save(&account)
/// #expect(try await store.load(Account.self, id: "acc-1")?.state.balance == 100)
/// ```
///
/// Payloads are compared byte for byte when a save is retried (PostgreSQL compares them as
/// `jsonb`); a retry sends the same bytes, so both stores agree on it.
public final class InMemoryEventStore: AggregateStore {
    private struct StoredEvent {
        var raw: RawRecordedEvent
    }

    private struct State {
        var log: [StoredEvent] = []
        /// Indices into `log`, per stream, in version order.
        var streams: [StreamID: [Int]] = [:]
        var indexByEventID: [UUID: Int] = [:]
        var nextTransactionID: UInt64 = 1
    }

    private let state = Mutex(State())
    private let clock: @Sendable () -> Date

    /// An empty store; `clock` stamps each event's `recordedAt`.
    public init(clock: @escaping @Sendable () -> Date = Date.init) {
        self.clock = clock
    }

    // MARK: AggregateStore

    public func load<A: Aggregate>(_ type: A.Type, id: String) async throws -> AggregateRoot<A>? {
        let stream = try StreamID(category: A.category, id: id)
        let events = state.withLock { state in state.streams[stream]?.map { state.log[$0].raw } }
        guard let events else { return nil }
        let codec = EventCodec<A>()
        var root = AggregateRoot<A>(stream: stream, state: A(), version: 0)
        for raw in events {
            let event = try codec.decode(
                type: raw.type, payload: raw.payload, stream: stream.rawValue, version: raw.version,
                position: raw.position)
            try root.replay(event, version: raw.version, position: raw.position)
        }
        return root
    }

    public func loadOrDefault<A: Aggregate>(_ type: A.Type, id: String) async throws -> AggregateRoot<A> {
        if let root = try await load(type, id: id) { return root }
        return AggregateRoot<A>(stream: try StreamID(category: A.category, id: id), state: A(), version: 0)
    }

    @discardableResult
    public func save<A: Aggregate>(_ root: inout AggregateRoot<A>) async throws -> AppendResult {
        guard root.hasUncommittedEvents else {
            return AppendResult(stream: root.id, version: root.version, positions: [], wasAlreadyStored: false)
        }
        let result = try await append(EventStore.encode(root), to: root.id, expecting: root.expectedVersion)
        try EventStore.markSaved(&root, by: result)
        return result
    }

    @discardableResult
    public func save<A: Aggregate>(_ roots: inout [AggregateRoot<A>]) async throws -> [AppendResult] {
        let pending = roots.indices.filter { roots[$0].hasUncommittedEvents }
        let appends = try pending.map { index in
            StreamAppend(
                stream: roots[index].id, expecting: roots[index].expectedVersion,
                events: try EventStore.encode(roots[index]))
        }
        let results = try await append(appends)
        for (index, result) in zip(pending, results) { try EventStore.markSaved(&roots[index], by: result) }
        return results
    }

    @discardableResult
    public func append(_ events: [NewEvent], to stream: StreamID, expecting expected: ExpectedVersion) async throws
        -> AppendResult
    {
        try EventStore.refuseNegativeVersion(expected, in: stream)
        try EventStore.refuseRepeatedIDs(events, in: stream)
        let now = clock()
        return try state.withLock { state in
            var draft = state
            let result = try Self.append(events, to: stream, expecting: expected, at: now, in: &draft)
            state = draft
            return result
        }
    }

    @discardableResult
    public func append(_ batch: [StreamAppend]) async throws -> [AppendResult] {
        let streams = batch.map(\.stream)
        guard Set(streams).count == streams.count else {
            throw MireError(
                code: .invalidOperation, message: "a batch names the same stream twice",
                recovery: "merge the events for one stream into one StreamAppend")
        }
        for append in batch { try EventStore.refuseNegativeVersion(append.expected, in: append.stream) }
        try EventStore.refuseRepeatedIDs(batch.flatMap(\.events), in: nil)
        let now = clock()
        // All or nothing: the appends run on a copy, kept only when every one succeeded.
        return try state.withLock { state in
            var draft = state
            var results: [AppendResult] = []
            for append in batch {
                results.append(
                    try Self.append(append.events, to: append.stream, expecting: append.expected, at: now, in: &draft))
            }
            state = draft
            return results
        }
    }

    public func readStream(_ stream: StreamID, from version: Int64 = 1, limit: Int = 1_000) async throws
        -> [RawRecordedEvent]
    {
        state.withLock { state in
            let log = state.log
            return (state.streams[stream] ?? []).lazy.map { log[$0].raw }.filter { $0.version >= version }
                .prefix(max(0, limit)).map { $0 }
        }
    }

    /// Load → run `command` → save, running the command again on fresh state after a conflict,
    /// up to `policy.maximumAttempts`. In memory no reply is ever lost, so a conflict is the
    /// only thing retried.
    ///
    /// ```swift
    /// try await store.update(Account.self, id: "acc-1") { try $0.deposit(5) }
    /// ```
    @discardableResult
    public func update<A: Aggregate>(
        _ type: A.Type, id: String, retry policy: RetryPolicy = .default,
        isolation: isolated (any Actor)? = #isolation,
        _ command: (inout AggregateRoot<A>) throws -> Void
    ) async throws -> UpdateResult<A> {
        var attempt = 1
        var conflicts = 0
        while true {
            var root = try await loadOrDefault(type, id: id)
            try command(&root)
            do {
                try await save(&root)
                return UpdateResult(root: root, attempts: attempt, conflicts: conflicts)
            } catch let error as MireError where error.code == .concurrencyConflict && attempt < policy.maximumAttempts
            {
                attempt += 1
                conflicts += 1
            }
        }
    }

    // MARK: Reading the whole log

    /// Every event in the log after `position`, in position order (at most `limit`).
    ///
    /// ```swift
    /// let all = store.readAll()
    /// ```
    public func readAll(after position: Int64 = 0, limit: Int = 1_000) -> [RawRecordedEvent] {
        state.withLock { state in
            state.log.lazy.map(\.raw).filter { $0.position > position }.prefix(max(0, limit)).map { $0 }
        }
    }

    // MARK: The append rules

    /// Appends to `state` or throws leaving it as it was, with the PostgreSQL store's order of
    /// checks: an identical earlier save is reported, then a reused id refused, then the version.
    private static func append(
        _ events: [NewEvent], to stream: StreamID, expecting expected: ExpectedVersion, at now: Date,
        in state: inout State
    ) throws(MireError) -> AppendResult {
        let current = state.streams[stream].flatMap { $0.last.map { state.log[$0].raw.version } } ?? 0
        let stored = events.compactMap { state.indexByEventID[$0.metadata.eventID] }
        if !stored.isEmpty {
            let first = stored.first.map { state.log[$0].raw.version } ?? 0
            let identical =
                stored.count == events.count
                && zip(events, stored).enumerated().allSatisfy { offset, pair in
                    let raw = state.log[pair.1].raw
                    return raw.stream == stream && raw.type == pair.0.type && raw.payload == pair.0.payload
                        && raw.version == first + Int64(offset)
                }
            guard identical else {
                throw MireError(
                    code: .eventIDReused,
                    message: "an event id of this save is already stored with different content or elsewhere",
                    stream: stream.rawValue,
                    recovery: "give every new event a new id; reuse an id only to retry the identical save")
            }
            let raws = stored.map { state.log[$0].raw }
            return AppendResult(
                stream: stream, version: raws.last?.version ?? current, positions: raws.map(\.position),
                wasAlreadyStored: true, lastEventID: events.last?.metadata.eventID)
        }
        guard expected.isSatisfied(by: current) else {
            throw MireError(
                code: .concurrencyConflict,
                message: "stream \(stream.rawValue) is at version \(current), the save expected \(expected)",
                stream: stream.rawValue, version: current, expected: expected,
                recovery: "another writer saved first: load again and retry")
        }
        guard !events.isEmpty else {
            return AppendResult(stream: stream, version: current, positions: [], wasAlreadyStored: false)
        }
        let transactionID = state.nextTransactionID
        state.nextTransactionID += 1
        var positions: [Int64] = []
        for (offset, event) in events.enumerated() {
            let position = Int64(state.log.count + 1)
            let raw = RawRecordedEvent(
                position: position, transactionID: transactionID, stream: stream, version: current + Int64(offset) + 1,
                type: event.type, payload: event.payload, metadata: event.metadata, recordedAt: now)
            state.indexByEventID[event.metadata.eventID] = state.log.count
            state.streams[stream, default: []].append(state.log.count)
            state.log.append(StoredEvent(raw: raw))
            positions.append(position)
        }
        return AppendResult(
            stream: stream, version: current + Int64(events.count), positions: positions, wasAlreadyStored: false,
            lastEventID: events.last?.metadata.eventID)
    }
}
