import Foundation
import MireMacros
import Testing

@_spi(Internals) @testable import MireCore

// The same events twice: with a generated decoder, and with synthesized Codable alone.
struct Detail: Codable, Sendable, Equatable {
    var city: String
    var tags: [String]
}

@MireEvent
enum FastEvent: Codable, Sendable, Equatable {
    case none
    case opened(owner: String)
    case deposited(amount: Int64, note: String?)
    case pair(Int, label: String?, [String: Int])
    case moved(detail: Detail)
    case rated(score: Double, flag: Bool)
    case closed
    case `default`(value: UInt8)
}

enum PlainEvent: Codable, Sendable, Equatable {
    case none
    case opened(owner: String)
    case deposited(amount: Int64, note: String?)
    case pair(Int, label: String?, [String: Int])
    case moved(detail: Detail)
    case rated(score: Double, flag: Bool)
    case closed
    case `default`(value: UInt8)
}

/// A value that keeps its decoder and reads from it later, as a lazy `Decodable` may: the bytes
/// under that decoder must stay its own. Confinement: read only by the test that decoded it.
final class KeptDecoder: Codable, @unchecked Sendable {
    private let decoder: any Decoder

    init(from decoder: any Decoder) throws { self.decoder = decoder }

    func encode(to encoder: any Encoder) throws {}

    /// The note in the document the kept decoder reads, read now. (Like JSONDecoder's, a decoder
    /// kept past `init(from:)` reads the whole document: for a generated decode, `{"": payload}`.)
    func value() throws -> String? {
        try decoder.singleValueContainer().decode([String: [String: String]].self).values.first?["note"]
    }
}

@MireEvent
enum KeepingEvent: Codable, Sendable {
    case kept(note: KeptDecoder)
    case noted(note: String)
}

extension KeepingEvent {
    /// The note of a `noted` event.
    var plainNote: String? {
        if case .noted(let note) = self { return note }
        return nil
    }
}

struct KeepingAccount: Aggregate {
    static let category = "keeping"

    mutating func apply(_ event: KeepingEvent) {}
}

struct FastAccount: Aggregate {
    static let category = "account"

    mutating func apply(_ event: FastEvent) {}
}

struct PlainAccount: Aggregate {
    static let category = "account"

    mutating func apply(_ event: PlainEvent) {}
}

@Suite("@MireEvent decoding")
struct MireEventDecodingTests {
    /// Stored payloads: well-formed, and each way one can fail (missing key, wrong type, out of
    /// range, null for a non-optional, not an object, bad JSON, unknown case).
    static let stored: [(type: String, payload: String)] = [
        ("account.opened", #"{"owner":"ada"}"#),
        ("account.opened", #"{"owner":"a\u00e9\"b","extra":[1,2]}"#),
        ("account.opened", #"{"owner":"first","owner":"second"}"#),
        ("account.opened", #"{"owner":1}"#),
        ("account.opened", #"{}"#),
        ("account.opened", #"{"owner":null}"#),
        ("account.opened", #"[]"#),
        ("account.opened", #"{"owner":"x""#),
        ("account.deposited", #"{"amount":30}"#),
        ("account.deposited", #"{"amount":30,"note":null}"#),
        ("account.deposited", #"{"amount":30,"note":"rent"}"#),
        ("account.deposited", #"{"amount":3.0e1}"#),
        ("account.deposited", #"{"amount":30.5}"#),
        ("account.deposited", #"{"amount":99999999999999999999}"#),
        ("account.deposited", #"{"amount":"30"}"#),
        ("account.deposited", #"{"amount":30,"note":7}"#),
        ("account.pair", #"{"_0":1,"label":"l","_2":{"a":1}}"#),
        ("account.pair", #"{"_0":1,"_2":{}}"#),
        ("account.pair", #"{"_0":1,"_2":{"a":"b"}}"#),
        ("account.pair", #"{"_1":1,"_2":{}}"#),
        ("account.moved", #"{"detail":{"city":"Oslo","tags":["a","b"]}}"#),
        ("account.moved", #"{"detail":{"city":"Oslo"}}"#),
        ("account.moved", #"{"detail":{"city":"Oslo","tags":[1]}}"#),
        ("account.rated", #"{"score":1e400,"flag":true}"#),
        ("account.rated", #"{"score":-0.25,"flag":false}"#),
        ("account.rated", #"{"score":1,"flag":"true"}"#),
        ("account.closed", #"{}"#),
        ("account.closed", #"{"ignored":1}"#),
        ("account.closed", #"null"#),
        ("account.default", #"{"value":255}"#),
        ("account.default", #"{"value":256}"#),
        ("account.default", #"{"value":-1}"#),
        ("account.vanished", #"{}"#),
        ("account.none", #"{}"#),
        // Codable reads {"case": payload}: 512 levels in all, so 511 inside the payload is too deep.
        (
            "account.deposited",
            #"{"amount":1,"x":"# + String(repeating: "[", count: 510) + String(repeating: "]", count: 510) + "}"
        ),
        (
            "account.deposited",
            #"{"amount":1,"x":"# + String(repeating: "[", count: 511) + String(repeating: "]", count: 511) + "}"
        ),
        ("account.opened", "\u{FEFF}{\"owner\":\"bom\"}"),
        ("account.opened", " \n{ \"owner\" : \"spaced\" } \t"),
        // Flat objects are read without the Decoder; these are its edges.
        ("account.opened", #"{"own\u0065r":"escaped key"}"#),
        ("account.opened", #"{"ownér":"x","owner":"y"}"#),
        ("account.opened", #"{"owner":"a\"b\n\u00e9"}"#),
        ("account.deposited", #"{"amount":30,}"#),
        ("account.deposited", #"{"amount":30,"amount":31}"#),
        ("account.deposited", #"{"a":1,"b":2,"c":3,"note":"n","amount":5}"#),
        ("account.deposited", #"{"a":1,"b":2,"note":"n","amount":5}"#),
        ("account.deposited", #"{ "amount" : -0 , "note" : "x" }"#),
        ("account.deposited", #"{"amount":1.0}"#),
        ("account.deposited", #"{"amount":030}"#),
        ("account.deposited", #"{"amount":true}"#),
        ("account.deposited", #"{"amount":30,"note":"x","extra":{"nested":[1]}}"#),
        ("account.deposited", #"{"amount":9223372036854775807,"note":"max"}"#),
        ("account.deposited", #"{"amount":9223372036854775808}"#),
        ("account.default", #"{"value":"7"}"#),
        ("account.pair", #"{"_0":1,"label":null,"_2":null}"#),
        // A payload that would add a member to the {"case": payload} document Codable reads.
        ("account.deposited", #"{"amount":1},"closed":{}"#),
        ("account.deposited", #"{"amount":1,"a":[1],"b":{}} ,"closed":{}"#),
        ("account.deposited", #"{"amount":1} , "#),
    ]

    /// What a decode gave, with the enum's name taken out so both enums can be compared.
    private static func outcome<A: Aggregate>(_ codec: EventCodec<A>, _ type: String, _ payload: String) -> String {
        do {
            return "value " + String(describing: try codec.decode(type: type, payload: Data(payload.utf8)))
        } catch {
            return "\(error.code) \(error.message)".replacingOccurrences(of: "\(A.Event.self)", with: "Event")
        }
    }

    @Test(arguments: stored.indices)
    func agreesWithCodableOnEveryPayload(_ index: Int) {
        let (type, payload) = Self.stored[index]
        let fast = Self.outcome(EventCodec<FastAccount>(), type, payload)
        let plain = Self.outcome(EventCodec<PlainAccount>(), type, payload)
        #expect(fast == plain, "payload \(payload) as \(type)")
    }

    @Test func theGeneratedDecoderReadsWellFormedPayloadsItself() throws {
        let decoder = JSONBytesDecoder()
        var spare: JSONBuffer? = nil
        func generated(_ caseName: String, _ payload: String) -> FastEvent? {
            Array(payload.utf8).withUnsafeBytes {
                try? decoder.decodeGenerated(FastEvent.self, caseName: caseName, payload: $0, reusing: &spare)
            }
        }
        #expect(generated("deposited", #"{"amount":30,"note":"rent"}"#) == .deposited(amount: 30, note: "rent"))
        #expect(generated("deposited", #"{"amount":30}"#) == .deposited(amount: 30, note: nil))
        #expect(generated("pair", #"{"_0":1,"_2":{"a":1}}"#) == .pair(1, label: nil, ["a": 1]))
        #expect(
            generated("moved", #"{"detail":{"city":"Oslo","tags":[]}}"#)
                == .moved(detail: Detail(city: "Oslo", tags: [])))
        #expect(generated("closed", "{}") == .closed)
        #expect(generated("none", "{}") == FastEvent.none)
        #expect(generated("default", #"{"value":7}"#) == .default(value: 7))
        // Flat objects (read without the Decoder) and the ones that are not.
        #expect(generated("deposited", #"{ "note" : "a\"b", "amount" : -5, }"#) == .deposited(amount: -5, note: "a\"b"))
        #expect(generated("deposited", #"{"amount":1,"amount":2}"#) == .deposited(amount: 1, note: nil))
        #expect(generated("opened", #"{"own\u0065r":"e"}"#) == .opened(owner: "e"))
        #expect(generated("rated", #"{"score":0.5,"flag":true}"#) == .rated(score: 0.5, flag: true))
        // It gives up (Codable then decides) rather than guess.
        #expect(generated("deposited", #"{"amount":"30"}"#) == nil)
        #expect(generated("deposited", #"{"amount":30"#) == nil)
        #expect(generated("vanished", "{}") == nil)
        #expect(generated("closed", "null") == nil)
    }

    /// Decodes `payload` as a stored `keeping.<caseName>` the way a load does, sharing `names`.
    private static func decodeAsLoaded(
        _ caseName: String, _ payload: String, names: inout EventTypeNameCache
    ) throws -> KeepingEvent {
        let codec = EventCodec<KeepingAccount>()
        return try Array("keeping.\(caseName)".utf8).withUnsafeBytes { type in
            try Array(payload.utf8).withUnsafeBytes { payload in
                try codec.decode(
                    typeBytes: type, payloadBytes: payload, names: &names, stream: "keeping-1", version: 1,
                    position: 1)
            }
        }
    }

    @Test func consecutivePayloadsOfALoadShareOneBuffer() throws {
        var names = EventTypeNameCache()
        #expect(try Self.decodeAsLoaded("noted", #"{"note":"one"}"#, names: &names).plainNote == "one")
        let first = try #require(names.spareBuffer.map(ObjectIdentifier.init))
        #expect(try Self.decodeAsLoaded("noted", #"{"note":"two, longer"}"#, names: &names).plainNote == "two, longer")
        #expect(names.spareBuffer.map(ObjectIdentifier.init) == first)
    }

    @Test func aDecoderAnEventKeptIsNeverOverwrittenByTheNextPayload() throws {
        var names = EventTypeNameCache()
        let payloads = [#"{"note":"first payload"}"#, #"{"note":"second, and longer"}"#, #"{"note":"3rd"}"#]
        var kept: [KeptDecoder] = []
        for payload in payloads {
            guard case .kept(let note) = try Self.decodeAsLoaded("kept", payload, names: &names) else {
                Issue.record("not decoded as kept: \(payload)")
                return
            }
            kept.append(note)
            // A plain payload in between may take the spare buffer only if nobody else holds it.
            #expect(
                try Self.decodeAsLoaded("noted", #"{"note":"overwrite?"}"#, names: &names).plainNote == "overwrite?")
        }
        #expect(try kept.map { try $0.value() } == ["first payload", "second, and longer", "3rd"])
    }

    @Test func randomPayloadsDecodeAlikeThroughBothPaths() {
        var generator = SystemRandomNumberGenerator()
        let fastCodec = EventCodec<FastAccount>()
        let plainCodec = EventCodec<PlainAccount>()
        let fragments = [
            #""amount":"#, #""note":"#, #""owner":"#, #""_0":"#, #""_2":"#, #""label":"#, "1", "-2", "1.5", "null",
            "true", #""s""#, "{}", "[]", ",", ":", "{", "}", #""detail":{"city":"c","tags":[]}"#,
        ]
        let types = ["deposited", "opened", "pair", "moved", "closed", "rated", "default"]
        for _ in 0..<2_000 {
            var payload = "{"
            for _ in 0..<Int.random(in: 0...4, using: &generator) {
                payload += fragments.randomElement(using: &generator)!
            }
            if Bool.random(using: &generator) { payload += "}" }
            let type = "account." + types.randomElement(using: &generator)!
            let fast = Self.outcome(fastCodec, type, payload)
            let plain = Self.outcome(plainCodec, type, payload)
            #expect(fast == plain, "payload \(payload) as \(type)")
            if fast != plain { return }
        }
    }
}
