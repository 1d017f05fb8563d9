// libFuzzer target: the event codec over hostile stored rows. The input is split into a type
// name and a payload at its first 0x00 byte (no 0x00: all payload, a known type); both go through
// the path loads use (bytes, name cache) and the String/Data path, which must agree; every
// outcome must be an event or a MireError, never a trap. Built by Fuzz/run.
import Foundation

/// The fuzzed events, with the decoder `@MireEvent` generates written out (the macro plugin is
/// not built here). `CodableFuzzEvent` decodes the same payloads through `Codable` alone: the
/// generated decoder's flat-payload reader and keyed path must agree with it on every input.
enum FuzzEvent: Codable, Sendable, Equatable, GeneratedEventDecoding {
    case opened(owner: String)
    case deposited(amount: Int64)
    case tagged(String, [String: Double])
    case nested(points: [[Int8]], note: String?)
    case rated(score: Double, flag: Bool, count: Int, label: String?)
    case closed

    static func decodeStoredCase(_ caseName: String, from payload: StoredEventPayload) throws -> Self {
        switch caseName {
        case "opened": return .opened(owner: try payload.decode(String.self, forKey: "owner"))
        case "deposited": return .deposited(amount: try payload.decode(Int64.self, forKey: "amount"))
        case "tagged":
            return .tagged(
                try payload.decode(String.self, forKey: "_0"), try payload.decode([String: Double].self, forKey: "_1"))
        case "nested":
            return .nested(
                points: try payload.decode([[Int8]].self, forKey: "points"),
                note: try payload.decodeIfPresent(String.self, forKey: "note"))
        case "rated":
            return .rated(
                score: try payload.decode(Double.self, forKey: "score"),
                flag: try payload.decode(Bool.self, forKey: "flag"),
                count: try payload.decode(Int.self, forKey: "count"),
                label: try payload.decodeIfPresent(String.self, forKey: "label"))
        case "closed": return .closed
        default: throw payload.unknownCase(caseName)
        }
    }
}

/// A `FuzzEvent` coded by its synthesized `Codable` only (not a `GeneratedEventDecoding`, so the
/// codec takes the `Codable` path): the reference the generated decoder is checked against.
struct CodableFuzzEvent: Codable, Sendable, Equatable {
    let event: FuzzEvent
    init(from decoder: any Decoder) throws { event = try FuzzEvent(from: decoder) }
    func encode(to encoder: any Encoder) throws { try event.encode(to: encoder) }
}

struct FuzzAggregate: Aggregate {
    static let category = "fuzz"
    static let eventTypeNames = ["closed": "fuzz.closed-v2"]
    var count = 0
    mutating func apply(_ event: CodableFuzzEvent) { count &+= 1 }
}

struct FuzzLegacy: Aggregate {
    static let category = "legacy"
    static let upcasters: [EventUpcaster] = [
        .rename("legacy.credited", to: "legacy.deposited"),
        // A reshaped payload, as the docs show one: {"cents": n} became {"amount": n}.
        EventUpcaster(from: "legacy.withdrawal", to: "legacy.deposited") { payload in
            var object = try EventUpcaster.jsonObject(payload)
            object["amount"] = object.removeValue(forKey: "cents")
            return try EventUpcaster.jsonData(object)
        },
        // A cycle: the codec must stop after a bounded number of steps.
        .rename("legacy.ping", to: "legacy.pong"), .rename("legacy.pong", to: "legacy.ping"),
    ]
    var count = 0
    mutating func apply(_ event: CodableFuzzEvent) { count &+= 1 }
}

/// `FuzzAggregate` with the generated decoder: the same names.
struct GeneratedFuzzAggregate: Aggregate {
    static let category = FuzzAggregate.category
    static let eventTypeNames = FuzzAggregate.eventTypeNames
    mutating func apply(_ event: FuzzEvent) {}
}

let codec = EventCodec<FuzzAggregate>()
let generated = EventCodec<GeneratedFuzzAggregate>()
let legacy = EventCodec<FuzzLegacy>()
let knownTypes = [
    "fuzz.opened", "fuzz.deposited", "fuzz.tagged", "fuzz.nested", "fuzz.rated", "fuzz.closed-v2", "fuzz.withdrawal",
    "fuzz.credited",
]

@_cdecl("LLVMFuzzerTestOneInput")
public func test(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let type: [UInt8]
    let payload: [UInt8]
    if let zero = input.firstIndex(of: 0) {
        type = Array(input[..<zero])
        payload = Array(input[(zero + 1)...])
    } else {
        type = Array(knownTypes[size % knownTypes.count].utf8)
        payload = Array(input)
    }
    check(codec, type: type, payload: payload)
    checkGenerated(type: type, payload: payload)
    check(legacy, type: Array("legacy.".utf8) + type.drop { $0 != UInt8(ascii: ".") }.dropFirst(), payload: payload)
    return 0
}

func check<A: Aggregate>(_ codec: EventCodec<A>, type: [UInt8], payload: [UInt8]) where A.Event == CodableFuzzEvent {
    let plain: Result<CodableFuzzEvent, MireError> = Result { () throws(MireError) in
        try codec.decode(
            type: String(decoding: type, as: UTF8.self), payload: Data(payload), stream: "s", version: 1, position: 1)
    }
    switch (plain, decodeBytes(codec, type: type, payload: payload)) {
    case (.success(let a), .success(let b)): precondition(a == b, "the two decode paths disagree")
    case (.failure(let a), .failure(let b)): precondition(a.code == b.code, "the two decode paths fail differently")
    default: preconditionFailure("one decode path failed, the other did not")
    }
    // What decodes must encode again and decode to the same event.
    if case .success(let event) = plain, let (storedType, stored) = try? codec.encode(event) {
        let again = try? codec.decode(type: storedType, payload: stored)
        precondition(again == event, "an event does not survive encode → decode")
    }
}

/// The path loads use: the type name's and payload's bytes, with a name cache.
func decodeBytes<A: Aggregate>(_ codec: EventCodec<A>, type: [UInt8], payload: [UInt8]) -> Result<A.Event, MireError> {
    var names = EventTypeNameCache()
    return type.withUnsafeBytes { typeBytes in
        payload.withUnsafeBytes { payloadBytes in
            Result { () throws(MireError) in
                try codec.decode(
                    typeBytes: typeBytes, payloadBytes: payloadBytes, names: &names, stream: "s", version: 1,
                    position: 1)
            }
        }
    }
}

/// The generated decoder (flat reader or keyed container) against `Codable`: the same event, or
/// failures with the same code.
func checkGenerated(type: [UInt8], payload: [UInt8]) {
    switch (decodeBytes(generated, type: type, payload: payload), decodeBytes(codec, type: type, payload: payload)) {
    case (.success(let a), .success(let b)):
        precondition(a == b.event, "the generated decoder disagrees with Codable")
    case (.failure(let a), .failure(let b)):
        precondition(a.code == b.code, "the generated decoder fails differently from Codable")
    default: preconditionFailure("the generated decoder and Codable disagree on success")
    }
}
