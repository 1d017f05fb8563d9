public import Foundation
import Synchronization

/// Turns an aggregate's events into stored type names and JSON payloads, and back.
///
/// For an enum, the stored type is `category.caseName` (unless pinned in
/// ``Aggregate/eventTypeNames``) and the payload is the case's associated values as a JSON
/// object: `.deposited(amount: 30)` → `account.deposited`, `{"amount":30}`. For a struct marked
/// ``EventStruct``, the type is `category.typeName` and the payload the whole value. No
/// hand-written codec is needed.
///
/// ```swift
/// let codec = EventCodec<Account>()
/// let (type, payload) = try codec.encode(.deposited(amount: 30))
/// let event = try codec.decode(type: type, payload: payload)
/// ```
///
/// Not part of the public API (the stored names and payloads are wire details): Mire's modules
/// and benchmarks use it through `@_spi(Internals) import MireCore`. Apps decode a raw event
/// with ``RawRecordedEvent/decode(as:)``.
@_spi(Internals) public struct EventCodec<A: Aggregate>: Sendable {
    /// `A`'s names, upcasters and memo, resolved once per process: building a codec is a
    /// cache look-up (stores build one per save).
    private let metadata: EventCodecMetadata
    // Encodes as JSONEncoder() does (values equal once decoded), several times faster.
    private let encoder = JSONBytesEncoder()
    // Decodes as JSONDecoder() does (same values, same errors), several times faster.
    private let decoder = JSONBytesDecoder()

    private var caseNameByStoredType: [String: String] { metadata.caseNameByStoredType }
    private var upcasters: [String: EventUpcaster] { metadata.upcasters }
    private var pinnedCases: Set<String> { metadata.pinnedCases }
    private var categoryPrefix: String { metadata.categoryPrefix }
    private var isStructEvent: Bool { metadata.isStructEvent }
    /// Stored type name → case name, as resolved so far (replays see few distinct names).
    private var resolved: ResolvedNames { metadata.resolved }

    /// The codec for `A`, with its pinned names and upcasters.
    ///
    /// `A`'s ``Aggregate/category``, ``Aggregate/eventTypeNames`` and ``Aggregate/upcasters``
    /// are read once per process, by the first codec of `A`.
    public init() {
        metadata = EventCodecMetadata.of(A.self)
    }

    /// The stored type name for an enum case (or struct) name.
    public func storedType(forCase caseName: String) -> String {
        metadata.storedType(forCase: caseName)
    }

    /// The stored type name and JSON payload of `event`.
    public func encode(_ event: A.Event) throws(MireError) -> (type: String, payload: Data) {
        do {
            if isStructEvent {
                return (storedType(forCase: metadata.structName), try encoder.encodeData(event))
            }
            // Synthesised Codable writes an enum case as {"caseName":{…associated values…}}:
            // the encoder returns the name and the value's bytes apart.
            let (caseName, payload) = try encoder.encodeEnumCaseData(event)
            return (storedType(forCase: caseName), payload)
        } catch {
            throw encodingFailure(error)
        }
    }

    private func encodingFailure(_ error: any Error) -> MireError {
        switch error {
        case is JSONNotOneKeyObject:
            return MireError(
                code: .undecodableEvent,
                message: "the enum \(A.Event.self) did not encode as {\"case\": {…}}",
                recovery: "use the synthesised Codable conformance for event enums, or make the event a struct"
            )
        default:
            return MireError(
                code: .undecodableEvent, message: "the event \(A.Event.self) could not be encoded: \(error)",
                recovery: "make the event's Codable conformance encode all of its values", underlying: error
            )
        }
    }

    /// Decodes a stored event, applying upcasters and pinned names.
    ///
    /// - Throws: ``MireError`` `unknownEventType` when no case answers to the type name, or
    ///   `undecodableEvent` when the payload does not fit the case.
    public func decode(
        type storedType: String, payload storedPayload: Data, stream: String? = nil, version: Int64? = nil,
        position: Int64? = nil
    ) throws(MireError) -> A.Event {
        let place = StoredEventPlace(stream: stream, version: version, position: position)
        var type = storedType
        var payload = storedPayload
        var steps = 0
        // Most aggregates have no upcasters: skip hashing the type name for them.
        while !upcasters.isEmpty, let upcaster = upcasters[type], steps < 32 {
            do {
                payload = try upcaster.transform(payload)
            } catch {
                throw place.failure(
                    .undecodableEvent, "the upcaster from \(upcaster.fromType) to \(upcaster.toType) failed: \(error)",
                    recovery: "fix the upcaster for this payload", underlying: error)
            }
            type = upcaster.toType
            steps += 1
        }
        let caseName = try caseName(for: type, storedType: storedType, place: place)
        var spare: JSONBuffer? = nil
        return try payload.withUnsafeBytes { bytes in
            Result { () throws(MireError) in
                try decodePayload(bytes, caseName: caseName, storedType: storedType, place: place, reusing: &spare)
            }
        }.get()
    }

    /// Decodes a stored event from its type name's and payload's bytes (as a row holds them),
    /// building no `String` or `Data` for them: `names` remembers the type names this caller
    /// has met. Falls back to ``decode(type:payload:stream:version:position:)`` when `A` has
    /// upcasters.
    package func decode(
        typeBytes: UnsafeRawBufferPointer, payloadBytes: UnsafeRawBufferPointer, names: inout EventTypeNameCache,
        stream: String?, version: Int64, position: Int64
    ) throws(MireError) -> A.Event {
        guard upcasters.isEmpty else {
            return try decode(
                type: String(decoding: typeBytes, as: UTF8.self), payload: Data(payloadBytes), stream: stream,
                version: version, position: position)
        }
        let place = StoredEventPlace(stream: stream, version: version, position: position)
        let caseName: String
        if let known = names.caseName(for: typeBytes) {
            caseName = known
        } else {
            let type = String(decoding: typeBytes, as: UTF8.self)
            caseName = try self.caseName(for: type, storedType: type, place: place)
            names.remember(typeBytes, as: caseName)
        }
        return try decodePayload(
            payloadBytes, caseName: caseName, storedType: String(decoding: typeBytes, as: UTF8.self),
            place: place, reusing: &names.spareBuffer)
    }

    /// The enum case (or struct) name a stored type name (after upcasting) stands for.
    private func caseName(for type: String, storedType: String, place: StoredEventPlace) throws(MireError) -> String {
        let caseName: String
        if let known = resolved.caseName(for: type) {
            caseName = known
        } else if let pinned = caseNameByStoredType[type] {
            caseName = pinned
            resolved.remember(type, as: pinned)
        } else if type.hasPrefix(categoryPrefix), !pinnedCases.contains(String(type.dropFirst(categoryPrefix.count))) {
            caseName = String(type.dropFirst(categoryPrefix.count))
            resolved.remember(type, as: caseName)
        } else {
            throw place.failure(
                .unknownEventType, "no event of \(A.self) is stored as '\(storedType)'",
                recovery: "add the case back, pin its old name in eventTypeNames, or register an upcaster")
        }
        if isStructEvent && caseName != metadata.structName {
            throw place.failure(
                .unknownEventType, "no event of \(A.self) is stored as '\(storedType)'",
                recovery: "pin the struct's stored name in eventTypeNames or register an upcaster")
        }
        return caseName
    }

    private func decodePayload(
        _ payload: UnsafeRawBufferPointer, caseName: String, storedType: @autoclosure () -> String,
        place: StoredEventPlace,
        reusing spare: inout JSONBuffer?
    ) throws(MireError) -> A.Event {
        // A decoder generated by @MireEvent reads the case directly; when it gives up, Codable
        // decodes the event (for its result or its exact error).
        if let generated = metadata.generatedDecoding {
            do {
                return try Self.decodeGenerated(generated, caseName: caseName, payload: payload, reusing: &spare)
            } catch {
                // It gave up: Codable decides below.
            }
        }
        do {
            // An enum case is read as the document {"caseName": payload}, as synthesised Codable
            // expects, without building that document as Data first.
            return try isStructEvent
                ? decoder.decode(A.Event.self, from: payload)
                : decoder.decode(A.Event.self, caseName: caseName, payload: payload)
        } catch let error as DecodingError where !isStructEvent && Self.codingPath(of: error).isEmpty {
            // The enum itself refused the key: it has no such case.
            throw place.failure(
                .unknownEventType, "no case of \(A.Event.self) is named '\(caseName)' (stored type '\(storedType())')",
                recovery: "add the case back, pin its old name in eventTypeNames, or register an upcaster",
                underlying: error)
        } catch {
            throw place.failure(
                .undecodableEvent,
                "the payload of '\(storedType())' does not decode as \(A.Event.self): \(describeDecodingFailure(error))",
                recovery: "register an upcaster for the old payload shape, or fix the event's Codable conformance",
                underlying: error)
        }
    }

    private static func decodeGenerated<E: GeneratedEventDecoding>(
        _ type: E.Type, caseName: String, payload: UnsafeRawBufferPointer, reusing spare: inout JSONBuffer?
    ) throws -> A.Event {
        let event = try JSONBytesDecoder().decodeGenerated(type, caseName: caseName, payload: payload, reusing: &spare)
        // `type` is `A.Event` itself (the metadata found it so): checked, then reinterpreted
        // without a dynamic cast per event.
        precondition(E.self == A.Event.self)
        return unsafeBitCast(event, to: A.Event.self)
    }

    /// Decodes a stored event into a ``RecordedEvent``.
    public func decode(_ raw: RawRecordedEvent) throws(MireError) -> RecordedEvent<A.Event> {
        RecordedEvent(
            event: try decode(
                type: raw.type, payload: raw.payload, stream: raw.stream.rawValue, version: raw.version,
                position: raw.position
            ),
            raw: raw
        )
    }

    /// The name a struct event is stored under: its type name with a lowercase first letter.
    static var structName: String { EventCodecMetadata.structName(of: A.Event.self) }

    private static func codingPath(of error: DecodingError) -> [any CodingKey] {
        switch error {
        case .keyNotFound(_, let context), .typeMismatch(_, let context), .valueNotFound(_, let context),
            .dataCorrupted(let context):
            return context.codingPath
        @unknown default:
            return []
        }
    }
}

/// What a codec of one aggregate type needs, resolved from its static requirements once per
/// process and kept in a small lock-protected cache keyed by the type.
final class EventCodecMetadata: Sendable {
    let caseNameByStoredType: [String: String]
    let pinnedNames: [String: String]
    let pinnedCases: Set<String>
    let upcasters: [String: EventUpcaster]
    let categoryPrefix: String
    let isStructEvent: Bool
    let structName: String
    /// The enum's generated decoder, when it has one (`@MireEvent`).
    let generatedDecoding: (any GeneratedEventDecoding.Type)?
    /// Stored type name → case name, as resolved so far, shared by all codecs of the type.
    let resolved = ResolvedNames()
    /// Case name → stored type name, as encoded so far: saves building the name per event.
    private let storedTypes = ResolvedNames()

    /// The stored type name of a case (or struct) name.
    func storedType(forCase caseName: String) -> String {
        if let known = storedTypes.caseName(for: caseName) { return known }
        let stored = pinnedNames[caseName] ?? categoryPrefix + caseName
        storedTypes.remember(caseName, as: stored)
        return stored
    }

    private init<A: Aggregate>(_ type: A.Type) {
        var reverse: [String: String] = [:]
        for (caseName, stored) in A.eventTypeNames { reverse[stored] = caseName }
        caseNameByStoredType = reverse
        pinnedNames = A.eventTypeNames
        pinnedCases = Set(A.eventTypeNames.keys)
        upcasters = Dictionary(A.upcasters.map { ($0.fromType, $0) }, uniquingKeysWith: { first, _ in first })
        categoryPrefix = A.category + "."
        isStructEvent = A.Event.self is any EventStruct.Type
        structName = Self.structName(of: A.Event.self)
        generatedDecoding = isStructEvent ? nil : A.Event.self as? any GeneratedEventDecoding.Type
    }

    private static let cache = Mutex<[ObjectIdentifier: EventCodecMetadata]>([:])

    /// The metadata of `A`, resolved on first use.
    static func of<A: Aggregate>(_ type: A.Type) -> EventCodecMetadata {
        let key = ObjectIdentifier(type)
        if let known = cache.withLock({ $0[key] }) { return known }
        // Resolved outside the lock: the aggregate's static members run user code.
        let made = EventCodecMetadata(type)
        return cache.withLock { cache in
            if let raced = cache[key] { return raced }
            cache[key] = made
            return made
        }
    }

    /// A type's name with a lowercase first letter.
    static func structName(of type: Any.Type) -> String {
        let name = String(describing: type)
        return name.prefix(1).lowercased() + name.dropFirst()
    }
}

/// The stored type names a replay has met and their case names, compared as bytes: a page of
/// events usually holds a handful of names, so a short list beats hashing a new `String` per row.
/// It also keeps the buffer generated decoders read payloads from, reused from row to row.
///
/// ```swift
/// var names = EventTypeNameCache()
/// let event = try codec.decode(typeBytes: type, payloadBytes: payload, names: &names, ...)
/// ```
package struct EventTypeNameCache {
    private var entries: [(bytes: [UInt8], caseName: String)] = []
    /// The last payload's buffer, rewritten for the next when nothing kept it.
    var spareBuffer: JSONBuffer?

    /// An empty cache.
    package init() {}

    func caseName(for bytes: UnsafeRawBufferPointer) -> String? {
        for entry in entries where entry.bytes.count == bytes.count {
            let equal = entry.bytes.withUnsafeBytes { stored in
                guard let stored = stored.baseAddress, let bytes = bytes.baseAddress else { return true }  // both empty
                return memcmp(stored, bytes, entry.bytes.count) == 0
            }
            if equal { return entry.caseName }
        }
        return nil
    }

    mutating func remember(_ bytes: UnsafeRawBufferPointer, as caseName: String) {
        if entries.count < 64 { entries.append((Array(bytes), caseName)) }
    }
}

/// Where a stored event sits, for error messages. Outside `EventCodec`: a type nested in a
/// generic one is generic too, and its metadata would be looked up on every decoded event.
private struct StoredEventPlace {
    var stream: String?
    var version: Int64?
    var position: Int64?

    func failure(
        _ code: MireError.Code, _ message: String, recovery: String, underlying: (any Error & Sendable)? = nil
    ) -> MireError {
        MireError(
            code: code, message: message, stream: stream, version: version, position: position,
            recovery: recovery, underlying: underlying)
    }
}

/// A small lock-protected memo of resolved type names, shared by the codecs of one type.
final class ResolvedNames: Sendable {
    private let names = Mutex<[String: String]>([:])

    func caseName(for type: String) -> String? { names.withLock { $0[type] } }

    func remember(_ type: String, as caseName: String) {
        names.withLock { names in
            if names.count < 1_024 { names[type] = caseName }
        }
    }
}

/// Marks an event type that is a struct (one kind of event per aggregate), not an enum.
///
/// ```swift
/// struct TemperatureRecorded: EventStruct { var celsius: Double }
/// ```
public protocol EventStruct: Codable, Sendable {}

extension RawRecordedEvent {
    /// This event as one of `A`'s events (its stored type name, upcasters and payload), with its
    /// position, stream, version and metadata; a typed error names the stream, version and
    /// position of an event that does not decode.
    ///
    /// ```swift
    /// for raw in try await store.readAll(after: cursor) where raw.stream.category == Account.category {
    ///     let recorded = try raw.decode(as: Account.self)
    ///     print(recorded.version, recorded.event)
    /// }
    /// ```
    public func decode<A: Aggregate>(as type: A.Type) throws(MireError) -> RecordedEvent<A.Event> {
        try EventCodec<A>().decode(self)
    }
}
