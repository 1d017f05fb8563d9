import MireCore
import MirePQ
public import Tracing

extension EventStore {
    /// Runs `body` in a client span named `name` (`mire.load`, `mire.save`, …) carrying the
    /// database attributes of OpenTelemetry's conventions and Mire's own (`mire.*`). An error
    /// thrown by `body` is recorded on the span and rethrown.
    ///
    /// ```swift
    /// try await traced("mire.save", stream: root.id) { span in
    ///     span.recordAttributes { $0["mire.event_count"] = events.count }
    ///     return try await append(events, to: root.id, expecting: expected)
    /// }
    /// ```
    package func traced<T>(
        _ name: String, stream: StreamID? = nil, isolation: isolated (any Actor)? = #isolation,
        _ body: (any Span) async throws -> T
    ) async throws -> T {
        try await Self.traced(tracer, name, stream: stream, isolation: isolation, body)
    }

    /// The same, on a given tracer (opened from its existential), of a given kind (`.consumer`
    /// for a projection's batch, which handles what others produced).
    package static func traced<T, Traced: Tracer>(
        _ tracer: Traced, _ name: String, kind: SpanKind = .client, stream: StreamID? = nil,
        isolation: isolated (any Actor)? = #isolation, _ body: (any Span) async throws -> T
    ) async throws -> T {
        if Traced.self == NoOpTracer.self {
            // Nothing would be recorded: no span is started and no context pushed (the context
            // stays the caller's), which is most of a no-op span's cost on every save and load.
            return try await body(NoOpTracer.NoOpSpan(context: ServiceContext.current ?? .topLevel))
        }
        return try await tracer.withSpan(name, ofKind: kind, isolation: isolation) { span in
            span.recordAttributes {
                $0["db.system.name"] = "postgresql"
                $0["db.operation.name"] = name
                if let stream { $0["mire.stream"] = stream.rawValue }
            }
            return try await body(span)
        }
    }

    /// `events` with the current trace context added to each one's custom metadata (keys the
    /// caller set are kept), so that whoever handles them later can link to this save.
    package func carryingTraceContext(_ events: [NewEvent]) -> [NewEvent] {
        guard let context = ServiceContext.current else { return events }
        var carried: [String: String] = [:]
        tracer.inject(context, into: &carried, using: MetadataInjector())
        guard !carried.isEmpty else { return events }
        return events.map { event in
            var event = event
            event.metadata.custom.merge(carried) { own, _ in own }
            return event
        }
    }
}

extension RawRecordedEvent {
    /// The trace context of the save that stored this event (from its metadata), for linking a
    /// handler's span to the request that wrote it; nil when none was carried.
    ///
    /// ```swift
    /// if let origin = event.traceContext(tracer) { span.addLink(SpanLink(context: origin, attributes: [:])) }
    /// ```
    public func traceContext(_ tracer: any Tracer = InstrumentationSystem.tracer) -> ServiceContext? {
        guard !metadata.custom.isEmpty else { return nil }
        var context = ServiceContext.topLevel
        tracer.extract(metadata.custom, into: &context, using: MetadataExtractor())
        return context.isEmpty ? nil : context
    }
}

/// Writes trace context into an event's custom metadata.
struct MetadataInjector: Injector {
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
        carrier[key] = value
    }
}

/// Reads trace context from an event's custom metadata.
struct MetadataExtractor: Extractor {
    func extract(key: String, from carrier: [String: String]) -> String? {
        carrier[key]
    }
}

extension Span {
    /// Sets attributes in one update, and only on a span that records them: setting them one by
    /// one on the no-op span (the default, no tracer bootstrapped) built a dictionary per
    /// attribute, for nothing, on every save and load.
    ///
    /// ```swift
    /// span.recordAttributes { $0["mire.event_count"] = events.count }
    /// ```
    package func recordAttributes(_ update: (inout SpanAttributes) -> Void) {
        guard isRecording else { return }
        updateAttributes(update)
    }
}
