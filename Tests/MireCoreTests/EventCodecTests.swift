import Foundation
@_spi(Internals) import MireCore
import Testing

private enum LampEvent: Codable, Sendable, Equatable {
    case installed(room: String, watts: Int)
    case switchedOn
    case relabelled(String)
}

private struct Lamp: Aggregate {
    static let category = "lamp"
    static let eventTypeNames = ["relabelled": "lamp.label-v2"]
    static let upcasters: [EventUpcaster] = [.rename("lamp.turnedOn", to: "lamp.switchedOn")]
    var on = false
    mutating func apply(_ event: LampEvent) { if case .switchedOn = event { on = true } }
}

private struct Reading: EventStruct, Equatable { var celsius: Double }

private struct Thermometer: Aggregate {
    static let category = "thermometer"
    var last = 0.0
    mutating func apply(_ event: Reading) { last = event.celsius }
}

/// Lamp without upcasters: its rows are decoded from bytes, without the String/Data path.
private struct Bulb: Aggregate {
    static let category = "bulb"
    static let eventTypeNames = ["relabelled": "bulb.label-v2"]
    mutating func apply(_ event: LampEvent) {}
}

/// Lamp whose old rows need reshaping, and two names that alias each other.
private struct OldLamp: Aggregate {
    static let category = "lamp"
    static let upcasters: [EventUpcaster] = [
        EventUpcaster(from: "lamp.fitted", to: "lamp.installed") { payload in
            var object = try EventUpcaster.jsonObject(payload)
            object["watts"] = object.removeValue(forKey: "power")
            return try EventUpcaster.jsonData(object)
        },
        .rename("lamp.ping", to: "lamp.pong"), .rename("lamp.pong", to: "lamp.ping"),
    ]
    mutating func apply(_ event: LampEvent) {}
}

/// An enum whose Codable conformance writes a plain string, not {"case": {…}}.
private enum Toggle: String, Codable, Sendable { case on, off }

private struct Switch: Aggregate {
    static let category = "switch"
    mutating func apply(_ event: Toggle) {}
}

@Suite("Event codec")
struct EventCodecTests {
    private let codec = EventCodec<Lamp>()

    @Test func enumCasesAreStoredByCategoryAndCaseName() throws {
        let (type, payload) = try codec.encode(.installed(room: "hall", watts: 60))
        #expect(type == "lamp.installed")
        let object = try JSONSerialization.jsonObject(with: payload) as? [String: Any]
        #expect(object?["room"] as? String == "hall")
        #expect(object?["watts"] as? Int == 60)
        #expect(try codec.decode(type: type, payload: payload) == .installed(room: "hall", watts: 60))
    }

    @Test func casesWithoutValuesAndUnlabelledValuesRoundTrip() throws {
        for event in [LampEvent.switchedOn, .relabelled("desk")] {
            let (type, payload) = try codec.encode(event)
            #expect(try codec.decode(type: type, payload: payload) == event)
        }
    }

    @Test func pinnedNamesAreUsedBothWays() throws {
        let (type, payload) = try codec.encode(.relabelled("desk"))
        #expect(type == "lamp.label-v2")
        #expect(try codec.decode(type: "lamp.label-v2", payload: payload) == .relabelled("desk"))
        // The derived name of a pinned case is not accepted: it was never stored.
        let error = #expect(throws: MireError.self) { try codec.decode(type: "lamp.relabelled", payload: payload) }
        #expect(error?.code == .unknownEventType)
    }

    /// What an app reading `readAll` has instead of the codec: a raw event decoded as an
    /// aggregate's event, through its pinned names and upcasters, or a typed error with where.
    @Test func aRawEventDecodesAsItsAggregatesEvent() throws {
        func raw(_ type: String, _ payload: String) throws -> RawRecordedEvent {
            RawRecordedEvent(
                position: 42, transactionID: 7, stream: try StreamID(category: "lamp", id: "1"), version: 3,
                type: type, payload: Data(payload.utf8), metadata: EventMetadata(), recordedAt: Date())
        }
        let renamed = try raw("lamp.label-v2", #"{"_0":"desk"}"#).decode(as: Lamp.self)
        #expect(renamed.event == .relabelled("desk"))
        #expect(renamed.version == 3 && renamed.position == 42)
        #expect(try raw("lamp.turnedOn", "{}").decode(as: Lamp.self).event == .switchedOn)
        let refused = #expect(throws: MireError.self) {
            try raw("lamp.installed", #"{"room":5}"#).decode(as: Lamp.self)
        }
        #expect(refused?.code == .undecodableEvent)
        #expect(refused?.stream == "lamp-1" && refused?.version == 3 && refused?.position == 42)
    }

    @Test func aliasesApply() throws {
        #expect(try codec.decode(type: "lamp.turnedOn", payload: Data("{}".utf8)) == .switchedOn)
    }

    @Test func unknownTypesAndBadPayloadsAreTypedErrors() {
        let unknown = #expect(throws: MireError.self) {
            try codec.decode(
                type: "lamp.exploded", payload: Data("{}".utf8), stream: "lamp-1", version: 3, position: 42)
        }
        #expect(unknown?.code == .unknownEventType)
        #expect(unknown?.stream == "lamp-1")
        #expect(unknown?.position == 42)
        let foreign = #expect(throws: MireError.self) {
            try codec.decode(type: "door.opened", payload: Data("{}".utf8))
        }
        #expect(foreign?.code == .unknownEventType)
        let bad = #expect(throws: MireError.self) {
            try codec.decode(type: "lamp.installed", payload: Data(#"{"room": 5}"#.utf8))
        }
        #expect(bad?.code == .undecodableEvent)
        #expect(bad?.message.contains("room") == true)
    }

    /// Review finding: the case name was spliced unescaped into {"name":payload}, so a stored
    /// type could carry a key of its own and decode as another event than its payload says.
    @Test func aStoredTypeNameCannotSpliceKeysIntoThePayload() {
        let hostile = #"lamp.installed":{"room":"vault","watts":1},"installed"#
        for type in [hostile, #"lamp.a"b"#, #"lamp.a\b"#, "lamp.a\u{1}b"] {
            let plain = #expect(throws: MireError.self) {
                try codec.decode(type: type, payload: Data(#"{"room": "hall", "watts": 60}"#.utf8))
            }
            #expect(plain?.code == .unknownEventType, "\(type)")
            let bytes = #expect(throws: MireError.self) {
                try EventCodec<Bulb>().decode(
                    type: type.replacingOccurrences(of: "lamp.", with: "bulb."),
                    payload: Data(#"{"room": "hall", "watts": 60}"#.utf8))
            }
            #expect(bytes?.code == .unknownEventType, "\(type)")
        }
    }

    @Test func upcastersReshapeOldPayloadsAndRefuseWhatTheyCannotRead() throws {
        let old = EventCodec<OldLamp>()
        let fitted = try old.decode(type: "lamp.fitted", payload: Data(#"{"room": "hall", "power": 40}"#.utf8))
        #expect(fitted == .installed(room: "hall", watts: 40))
        for payload in ["[1, 2]", "{\"room\": ", "7"] {
            let error = #expect(throws: MireError.self) {
                try old.decode(type: "lamp.fitted", payload: Data(payload.utf8), stream: "lamp-9", version: 2)
            }
            #expect(error?.code == .undecodableEvent)
            #expect(error?.stream == "lamp-9")
            #expect(error?.message.contains("upcaster from lamp.fitted to lamp.installed") == true)
        }
        // Names that upcast into each other end in a typed error, not a loop.
        let cycle = #expect(throws: MireError.self) { try old.decode(type: "lamp.ping", payload: Data("{}".utf8)) }
        #expect(cycle?.code == .unknownEventType)
    }

    @Test func decodingErrorsAreTheOnesJSONDecoderGave() {
        // What EventCodec threw when it decoded {"case": payload} with JSONDecoder.
        func expected(_ caseName: String, _ payload: String) -> MireError.Code? {
            do {
                _ = try JSONDecoder().decode(LampEvent.self, from: Data("{\"\(caseName)\":\(payload)}".utf8))
                return nil
            } catch let error as DecodingError {
                switch error {
                case .keyNotFound(_, let context), .typeMismatch(_, let context), .valueNotFound(_, let context),
                    .dataCorrupted(let context):
                    return context.codingPath.isEmpty ? .unknownEventType : .undecodableEvent
                @unknown default:
                    return .undecodableEvent
                }
            } catch {
                return .undecodableEvent
            }
        }
        let payloads = [
            "{}", #"{"room": "hall", "watts": 60}"#, #"{"room": 5, "watts": 60}"#, #"{"room": "hall"}"#,
            #"{"room": "hall", "watts": 60.5}"#, #"{"room": "hall", "watts": 01}"#, #"{"_0": "desk"}"#, "null", "[]",
            "", "{", #"{"room": "hall", "watts": 60}, "switchedOn": {}"#, #"{"room": "\ud800", "watts": 1}"#,
        ]
        for caseName in ["installed", "switchedOn", "relabelled"] {
            for payload in payloads {
                let type = caseName == "relabelled" ? "lamp.label-v2" : "lamp.\(caseName)"
                var actual: MireError.Code?
                do {
                    _ = try codec.decode(type: type, payload: Data(payload.utf8))
                } catch {
                    actual = error.code
                }
                #expect(actual == expected(caseName, payload), "\(caseName): \(payload)")
            }
        }
    }

    @Test func decodingFromRowBytesMatchesDecodingFromStringsAndData() {
        // Each outcome as (event, error code, error message), from a type name and a payload.
        func outcomes<A: Aggregate>(
            _ codec: EventCodec<A>, _ rows: [(type: String, payload: String)]
        ) -> [(A.Event?, MireError?)] where A.Event: Equatable {
            rows.map { row in
                do {
                    return (
                        try codec.decode(
                            type: row.type, payload: Data(row.payload.utf8), stream: "s", version: 7, position: 9), nil
                    )
                } catch {
                    return (nil, error as? MireError)
                }
            }
        }
        func bytesOutcomes<A: Aggregate>(
            _ codec: EventCodec<A>, _ rows: [(type: String, payload: String)]
        ) -> [(A.Event?, MireError?)] where A.Event: Equatable {
            var names = EventTypeNameCache()
            return rows.map { row in
                Array(row.type.utf8).withUnsafeBytes { type in
                    Array(row.payload.utf8).withUnsafeBytes { payload in
                        do {
                            return (
                                try codec.decode(
                                    typeBytes: type, payloadBytes: payload, names: &names, stream: "s", version: 7,
                                    position: 9), nil
                            )
                        } catch {
                            return (nil, error as? MireError)
                        }
                    }
                }
            }
        }
        // Names repeat, so later rows are served by the name cache; errors must not poison it.
        func rows(_ category: String) -> [(type: String, payload: String)] {
            [
                ("\(category).installed", #"{"room": "hall", "watts": 60}"#),
                ("\(category).switchedOn", "{}"),
                ("\(category).label-v2", #"{"_0": "desk"}"#),
                ("\(category).installed", #"{"room": 5, "watts": 60}"#),
                ("\(category).exploded", "{}"),
                ("\(category).relabelled", #"{"_0": "desk"}"#),
                ("\(category).exploded", "{}"),
                ("\(category).installed", #"{"room": "attic", "watts": 40}"#),
                ("\(category).turnedOn", "{}"),
                ("\(category).switchedOn", "{"),
                ("", "{}"),
                ("\(category).switchedOn", "{}"),
            ]
        }
        let bulb = EventCodec<Bulb>()
        let lamp = EventCodec<Lamp>()
        for (plain, bytes) in [
            (outcomes(bulb, rows("bulb")), bytesOutcomes(bulb, rows("bulb"))),
            (outcomes(lamp, rows("lamp")), bytesOutcomes(lamp, rows("lamp"))),
        ] {
            #expect(plain.count == bytes.count)
            for (index, (expected, actual)) in zip(plain, bytes).enumerated() {
                #expect((actual.0 == nil) != (actual.1 == nil), "row \(index): an event or a MireError")
                #expect(expected.0 == actual.0, "row \(index)")
                #expect(expected.1?.code == actual.1?.code, "row \(index)")
                #expect(expected.1?.message == actual.1?.message, "row \(index)")
                #expect(
                    actual.1 == nil || (actual.1?.stream == "s" && actual.1?.version == 7 && actual.1?.position == 9))
            }
        }
        // The rows above cover both outcomes: decoded events and each kind of error.
        let kinds = Set(bytesOutcomes(bulb, rows("bulb")).map { $0.1?.code.description ?? "decoded" })
        #expect(kinds == ["decoded", "unknownEventType", "undecodableEvent"])
        // Lamp's alias only exists through its upcaster (the String/Data fallback).
        #expect(bytesOutcomes(lamp, rows("lamp"))[8].0 == .switchedOn)
        #expect(bytesOutcomes(bulb, rows("bulb"))[8].1?.code == .unknownEventType)
    }

    @Test func structEventsUseTheirTypeName() throws {
        let codec = EventCodec<Thermometer>()
        let (type, payload) = try codec.encode(Reading(celsius: 21.5))
        #expect(type == "thermometer.reading")
        #expect(try codec.decode(type: type, payload: payload) == Reading(celsius: 21.5))
    }

    @Test func encodingErrorsAreTypedAsBefore() {
        // A value JSONEncoder refuses (NaN) and an "enum" that is not written as {"case": {…}}.
        let nan = #expect(throws: MireError.self) { try EventCodec<Thermometer>().encode(Reading(celsius: .nan)) }
        #expect(nan?.code == .undecodableEvent)
        #expect(nan?.message.contains("could not be encoded") == true)
        #expect(nan?.underlying is EncodingError)
        let flat = #expect(throws: MireError.self) { try EventCodec<Switch>().encode(.on) }
        #expect(flat?.code == .undecodableEvent)
        #expect(flat?.message == #"the enum Toggle did not encode as {"case": {…}}"#)
    }

    @Test func encodingMatchesJSONEncoderForEveryCase() throws {
        // The payload and type name EventCodec stored when it encoded with JSONEncoder.
        for event in [LampEvent.installed(room: "hall/1", watts: 60), .switchedOn, .relabelled("desk \"a\"")] {
            let (type, payload) = try codec.encode(event)
            let whole = try JSONEncoder().encode(event)
            let object = try JSONSerialization.jsonObject(with: whole) as? [String: Any]
            let caseName = try #require(object?.keys.first)
            #expect(type == codec.storedType(forCase: caseName))
            #expect(
                CanonicalJSON.text(Array("{\"\(caseName)\":".utf8) + [UInt8](payload) + [0x7D])
                    == CanonicalJSON.text(whole))
        }
        // Codecs are cheap to build and share their memo: many codecs, same answers.
        for _ in 0..<100 { #expect(try EventCodec<Lamp>().encode(.switchedOn).type == "lamp.switchedOn") }
    }

    @Test func recordingAppliesAtOnceAndTracksVersions() throws {
        var lamp = try AggregateRoot<Lamp>(id: "l1")
        #expect(lamp.isNew)
        #expect(lamp.expectedVersion == .exact(0))
        lamp.record(contentsOf: [.installed(room: "hall", watts: 40), .switchedOn])
        #expect(lamp.state.on)
        #expect(lamp.version == 0)
        #expect(lamp.currentVersion == 2)
        #expect(lamp.uncommittedEvents.count == 2)
        #expect(lamp.uncommittedEvents[0].metadata.eventID != lamp.uncommittedEvents[1].metadata.eventID)
    }
}
