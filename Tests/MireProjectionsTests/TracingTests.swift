import Foundation
import InMemoryTracing
import MirePostgres
import MireProjections
import MireTestSupport
import MireTransactions
import Testing
import Tracing

/// Spans for loads, saves, appends, transactions and projection batches, and the trace context
/// that travels in event metadata from the request that saved an event to the batch that
/// projects it.
@Suite("Tracing")
struct TracingTests {
    @Test func aSaveInARequestIsTracedAndItsProjectionBatchLinksBackToIt() async throws {
        let tracer = InMemoryTracer()
        try await TestDatabase.withStore(configuration: EventStore.Configuration(wakeUpChannel: nil, tracer: tracer)) {
            store throws in
            // A "request" span around load → record → save.
            let requestTrace = try await tracer.withSpan("POST /tallies") { request in
                var tally = try await store.loadOrDefault(Tally.self, id: "traced")
                tally.record(.added(3))
                tally.record(.added(4))
                try await store.save(&tally)
                return request.context.inMemorySpanContext?.traceID
            }
            let finished = tracer.finishedSpans
            let request = try #require(finished.first { $0.operationName == "POST /tallies" })
            let load = try #require(finished.first { $0.operationName == "mire.load" })
            let save = try #require(finished.first { $0.operationName == "mire.save" })
            #expect(load.parentSpanID == request.spanID)
            #expect(save.parentSpanID == request.spanID)
            // A save is one span: the append it runs is not traced a second time.
            #expect(!finished.contains { $0.operationName == "mire.append" })
            #expect(save.attributes["mire.event_count"]?.toSpanAttribute() == .int64(2))
            #expect(save.traceID == requestTrace)
            #expect(save.kind == .client)
            #expect(save.attributes["db.system.name"]?.toSpanAttribute() == .string("postgresql"))
            #expect(save.attributes["mire.stream"]?.toSpanAttribute() == .string("tally-traced"))
            #expect(save.attributes["mire.version"]?.toSpanAttribute() == .int64(2))

            // The event carries the save's trace context in its metadata.
            let stored = try #require(try await store.readStream(StreamID(category: "tally", id: "traced")).first)
            let origin = try #require(stored.traceContext(tracer)?.inMemorySpanContext)
            #expect(origin.traceID == requestTrace)
            #expect(origin.spanID == save.spanID)

            // A projection batch, in a trace of its own, links once to the save that wrote its
            // two events.
            let projection = Projection(name: "traced", category: "tally", delivery: .transactional) { _, _ in }
            let runner = ProjectionRunner(
                store: store, projections: [projection], configuration: testConfiguration("t"),
                logger: TestDatabase.logger)
            try await runner.runUntilCaughtUp()
            let batch = try #require(tracer.finishedSpans.first { $0.operationName == "mire.projection.batch" })
            #expect(batch.traceID != requestTrace)
            #expect(batch.kind == .consumer)
            #expect(batch.attributes["mire.event_count"]?.toSpanAttribute() == .int64(2))
            #expect(batch.attributes["mire.projection"]?.toSpanAttribute() == .string("traced"))
            #expect(batch.links.compactMap { $0.context.inMemorySpanContext?.spanID } == [save.spanID])

            // An append of ready-made events has a span of its own.
            try await store.append(
                [try NewEvent(Tally.self, .added(1))], to: StreamID(category: "tally", id: "traced"),
                expecting: .exact(2))
            let append = try #require(tracer.finishedSpans.first { $0.operationName == "mire.append" })
            #expect(append.kind == .client)
            #expect(append.attributes["mire.version"]?.toSpanAttribute() == .int64(3))
        }
    }

    @Test func aTransactionAndAFailedSaveAreTraced() async throws {
        let tracer = InMemoryTracer()
        try await TestDatabase.withStore(configuration: EventStore.Configuration(wakeUpChannel: nil, tracer: tracer)) {
            store throws in
            var first = try await store.loadOrDefault(Tally.self, id: "raced")
            var second = first
            first.record(.added(1))
            second.record(.added(2))
            try await store.save(&first)
            await #expect(throws: MireError.self) { try await store.save(&second) }
            let failed = try #require(tracer.finishedSpans.last { $0.operationName == "mire.save" })
            #expect((failed.errors.first?.error as? MireError)?.code == .concurrencyConflict)

            try await store.transaction { transaction in
                var tally = try #require(try await transaction.loadForUpdate(Tally.self, id: "raced"))
                tally.record(.added(5))
                try await transaction.save(&tally)
            }
            let transaction = try #require(tracer.finishedSpans.first { $0.operationName == "mire.transaction" })
            let load = try #require(tracer.finishedSpans.last { $0.operationName == "mire.load" })
            #expect(load.parentSpanID == transaction.spanID)
        }
    }
}
