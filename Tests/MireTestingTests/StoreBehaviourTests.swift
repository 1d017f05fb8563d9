import Foundation
import MirePostgres
import MireTestSupport
import MireTesting
import Testing

private struct Counter: Aggregate {
    static let category = "counter"
    enum Event: Codable, Sendable, Equatable {
        case added(Int)
        case reset
    }
    var total = 0
    mutating func apply(_ event: Event) {
        switch event {
        case .added(let n): total += n
        case .reset: total = 0
        }
    }
}

/// Which store a behaviour runs against.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
    case postgres, inMemory
    var testDescription: String { rawValue }

    func withStore(_ body: (any AggregateStore) async throws -> Void) async throws {
        switch self {
        case .postgres: try await TestDatabase.withStore { store throws in try await body(store) }
        case .inMemory: try await body(InMemoryEventStore())
        }
    }
}

private func added(_ n: Int, id: UUID = UUID()) throws -> NewEvent {
    try NewEvent(Counter.self, .added(n), metadata: EventMetadata(eventID: id))
}

/// One set of behaviours, run against the PostgreSQL store and the in-memory one: they cannot
/// drift apart without a test failing.
@Suite("Store behaviour")
struct StoreBehaviourTests {
    @Test(arguments: StoreKind.allCases)
    func savesNumberVersionsFromOneAndLoadsReplayThem(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            #expect(try await store.load(Counter.self, id: "c") == nil)
            var counter = try await store.loadOrDefault(Counter.self, id: "c")
            #expect(counter.version == 0)
            counter.record(.added(2))
            counter.record(.added(3))
            let first = try await store.save(&counter)
            #expect(first.version == 2)
            #expect(first.positions.count == 2 && first.positions[0] < first.positions[1])
            counter.record(.reset)
            counter.record(.added(7))
            #expect(try await store.save(&counter).version == 4)
            let loaded = try #require(try await store.load(Counter.self, id: "c"))
            #expect(loaded.version == 4 && loaded.state.total == 7)
            let events = try await store.readStream(counter.id, from: 2, limit: 2)
            #expect(events.map(\.version) == [2, 3])
            #expect(events.map(\.type) == ["counter.added", "counter.reset"])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aStaleSaveIsATypedConflictAndStoresNothing(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            var first = try await store.loadOrDefault(Counter.self, id: "raced")
            var second = first
            first.record(.added(1))
            try await store.save(&first)
            second.record(.added(9))
            let error = await #expect(throws: MireError.self) { try await store.save(&second) }
            #expect(error?.code == .concurrencyConflict)
            #expect(error?.stream == "counter-raced")
            #expect(error?.expected == .exact(0))
            #expect(error?.version == 1)
            #expect(try await store.load(Counter.self, id: "raced")?.state.total == 1)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func theSameEventsSavedAgainAreReportedWhereTheyWereStored(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let stream = try StreamID(category: "counter", id: "retried")
            let events = [try added(1), try added(2)]
            let first = try await store.append(events, to: stream, expecting: .noStream)
            try await store.append([try added(5)], to: stream, expecting: .exact(2))
            let again = try await store.append(events, to: stream, expecting: .noStream)
            #expect(again.wasAlreadyStored)
            #expect(again.version == 2 && again.positions == first.positions)
            #expect(try await store.load(Counter.self, id: "retried")?.version == 3)
        }
    }

    /// The same events sent again expecting the stream's current version (which their first
    /// save made it): reported where they were stored, not refused as a reused id.
    @Test(arguments: StoreKind.allCases)
    func theSameEventsSavedAgainAtTheCurrentVersionAreReportedStored(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let stream = try StreamID(category: "counter", id: "retried-current")
            let one = [try added(1)]
            let first = try await store.append(one, to: stream, expecting: .noStream)
            let again = try await store.append(one, to: stream, expecting: .exact(1))
            #expect(again.wasAlreadyStored && again.version == 1 && again.positions == first.positions)
            let two = [try added(2), try added(3)]
            let second = try await store.append(two, to: stream, expecting: .exact(1))
            let twice = try await store.append(two, to: stream, expecting: .exact(3))
            #expect(twice.wasAlreadyStored && twice.version == 3 && twice.positions == second.positions)
            #expect(try await store.load(Counter.self, id: "retried-current")?.version == 3)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aNegativeExpectedVersionIsRefusedBeforeAnythingIsStored(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let stream = try StreamID(category: "counter", id: "negative")
            for version: Int64 in [-1, -2, -3, .min] {
                let single = await #expect(throws: MireError.self) {
                    try await store.append([try added(1)], to: stream, expecting: .exact(version))
                }
                #expect(single?.code == .invalidOperation)
                let batch = await #expect(throws: MireError.self) {
                    try await store.append([
                        StreamAppend(stream: stream, expecting: .exact(version), events: [try added(1)]),
                        StreamAppend(
                            stream: try StreamID(category: "counter", id: "other"), expecting: .any, events: []),
                    ])
                }
                #expect(batch?.code == .invalidOperation)
            }
            #expect(try await store.load(Counter.self, id: "negative") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func reusedAndRepeatedIDsAreRefused(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let id = UUID()
            let a = try StreamID(category: "counter", id: "a")
            let b = try StreamID(category: "counter", id: "b")
            try await store.append([try added(1, id: id)], to: a, expecting: .noStream)
            let elsewhere = await #expect(throws: MireError.self) {
                try await store.append([try added(1, id: id)], to: b, expecting: .noStream)
            }
            #expect(elsewhere?.code == .eventIDReused)
            let changed = await #expect(throws: MireError.self) {
                try await store.append([try added(2, id: id)], to: a, expecting: .noStream)
            }
            #expect(changed?.code == .eventIDReused)
            let repeated = await #expect(throws: MireError.self) {
                let twin = UUID()
                try await store.append([try added(1, id: twin), try added(2, id: twin)], to: b, expecting: .any)
            }
            #expect(repeated?.code == .repeatedEventID)
            #expect(try await store.load(Counter.self, id: "b") == nil)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func expectationsAndEmptyAppends(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let stream = try StreamID(category: "counter", id: "x")
            let missing = await #expect(throws: MireError.self) {
                try await store.append([try added(1)], to: stream, expecting: .streamExists)
            }
            #expect(missing?.code == .concurrencyConflict)
            let empty = try await store.append([], to: stream, expecting: .noStream)
            #expect(empty.version == 0 && empty.positions.isEmpty)
            #expect(try await store.load(Counter.self, id: "x") == nil)  // no stream row created
            try await store.append([try added(1)], to: stream, expecting: .any)
            try await store.append([try added(1)], to: stream, expecting: .streamExists)
            let created = await #expect(throws: MireError.self) {
                try await store.append([try added(1)], to: stream, expecting: .noStream)
            }
            #expect(created?.version == 2)
        }
    }

    @Test(arguments: StoreKind.allCases)
    func batchesAreAllOrNothing(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            let a = try StreamID(category: "counter", id: "ba")
            let b = try StreamID(category: "counter", id: "bb")
            try await store.append([try added(1)], to: b, expecting: .noStream)
            let refused = await #expect(throws: MireError.self) {
                try await store.append([
                    StreamAppend(stream: a, expecting: .noStream, events: [try added(1)]),
                    StreamAppend(stream: b, expecting: .noStream, events: [try added(1)]),
                ])
            }
            #expect(refused?.code == .concurrencyConflict)
            #expect(try await store.load(Counter.self, id: "ba") == nil)
            let twice = await #expect(throws: MireError.self) {
                try await store.append([
                    StreamAppend(stream: a, expecting: .any, events: [try added(1)]),
                    StreamAppend(stream: a, expecting: .any, events: [try added(1)]),
                ])
            }
            #expect(twice?.code == .invalidOperation)
            let results = try await store.append([
                StreamAppend(stream: a, expecting: .noStream, events: [try added(1)]),
                StreamAppend(stream: b, expecting: .exact(1), events: [try added(1), try added(1)]),
            ])
            #expect(results.map(\.version) == [1, 3])
        }
    }

    @Test(arguments: StoreKind.allCases)
    func concurrentUpdatesLoseNothing(_ kind: StoreKind) async throws {
        try await kind.withStore { store in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        for _ in 0..<25 {
                            try await store.update(Counter.self, id: "u", retry: RetryPolicy(maximumAttempts: 100)) {
                                $0.record(.added(1))
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let counter = try #require(try await store.load(Counter.self, id: "u"))
            #expect(counter.state.total == 50 && counter.version == 50)
        }
    }
}
