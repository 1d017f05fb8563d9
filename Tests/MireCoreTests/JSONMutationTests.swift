import Foundation
import MireCore
import Testing

/// Valid documents, damaged at random (fixed seed): the decoder must never crash, and must
/// succeed exactly when JSONDecoder succeeds, with the same value or the same kind of error.
@Suite("JSON bytes decoder, mutated documents")
struct JSONMutationTests {
    /// A document and a comparison of both decoders on (a mutation of) it.
    private struct Seed: Sendable {
        let document: String
        /// Whether error cases can be compared: a dictionary with several bad values fails on
        /// whichever JSONDecoder meets first, in hash order.
        let compareErrorKinds: Bool
        let compare: @Sendable (Data) -> (expected: DecodeOutcome, actual: DecodeOutcome, sameValue: Bool)

        init<T: Decodable & Equatable & SendableMetatype>(
            _ type: T.Type, _ document: String, compareErrorKinds: Bool = true
        ) {
            self.document = document
            self.compareErrorKinds = compareErrorKinds
            self.compare = { Differential.compare(T.self, $0) }
        }
    }

    private static let seeds: [Seed] = [
        Seed(
            AnyJSON.self,
            #"{"a": [1, -2.5e3, 0, 300, "x\u00e9\n", true, null, {"b": {}}], "c": {"d": [[]], "e": 18446744073709551615}, "f": "\ud83d\ude00", "g": -0.0}"#
        ),
        Seed(
            AnyJSON.self, #"[1e400, 1e-400, 0e1, 9007199254740993, -9223372036854775809, 1.5e-7, "\/", {"k": [false]}]"#
        ),
        Seed(AccountEvent.self, #"{"deposited": {"amount": 1}}"#),
        Seed(AccountEvent.self, #"{"opened": {"owner": "Zoë \u00e9\n"}}"#),
        Seed(AccountEvent.self, #"{"transferredOut": {"amount": -25, "to": "acc-2"}}"#),
        Seed(AccountEvent.self, #"{"closed": {}}"#),
        Seed(AccountEvent.self, #"{"credited": {"_0": 5}}"#),
        Seed(AccountEvent.self, #"{"tagged": {"_0": "a", "note": null}}"#),
        Seed([AccountEvent].self, #"[{"deposited": {"amount": 10}}, {"withdrawn": {"amount": 3}}, {"closed": {}}]"#),
        Seed(
            Ledger.self,
            #"{"owner": "Zoë", "entries": [{"id": 1, "label": "rent", "money": {"amount": -900, "currency": "EUR"}, "flags": [true, false], "ratio": 0.25}], "balances": {"a": 1}, "limits": {"7": 2.5}, "opened": 1.5, "tags": ["x"], "nested": [[1, -2], []]}"#,
            compareErrorKinds: false),
        Seed(
            Scalars.self,
            #"{"bool": true, "string": "s\"\\", "int": -1, "int8": -8, "int16": 16, "int32": 32, "int64": 64, "uint": 1, "uint8": 8, "uint16": 16, "uint32": 32, "uint64": 64, "double": 0.5e1, "float": 0.25}"#
        ),
        Seed(
            Optionals.self, #"{"bool": null, "string": "\ud83d\ude00", "int": 12, "double": 1e-3, "list": [1, null]}"#),
        Seed(
            Foundations.self,
            #"{"date": 1.5, "data": "aGVsbG8=", "url": "https://example.com", "uuid": "E621E1F8-C36C-495A-93FC-0C247A3E6E5F", "decimal": 12.5}"#
        ),
        Seed([String: Int].self, #"{"a": 1, "b": -2, "c\u0064": 3}"#, compareErrorKinds: false),
        Seed([Int: String].self, #"{"1": "a", "-2": "b"}"#, compareErrorKinds: false),
        Seed(ContainerTour.self, #"{"a": 1, "n": null, "list": [1, null, ["x"], {"o": 1}], "object": {"x": 1.5}}"#),
        Seed([Double?].self, "[0.1, -0, 1e308, null, 123456789.123456789]"),
        Seed(String.self, #""plain \"quoted\" \\ \/ \b\f\n\r\t \u0041 \uD83D\uDE00 日本""#),
        Seed(Int64.self, "-9223372036854775808"),
        Seed([UInt8].self, "[0, 255, 1.0, 2e1]"),
        Seed(
            [String: Int].self,
            #"{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": 10, "k": 11, "l": 12, "m": 13, "a": 14}"#,
            compareErrorKinds: false),
        Seed(
            ContainerTour.self,
            #"{"x0": 0, "x1": 1, "x2": 2, "x3": 3, "x4": 4, "x5": 5, "x6": 6, "x7": 7, "x8": 8, "x9": 9, "a": 1, "n": null, "list": [1, [2]], "object": {"x": 2}}"#
        ),
    ]

    /// Bytes that make interesting damage in JSON.
    private static let interesting: [UInt8] =
        Array(#"{}[],:"\0123456789-+.eEnultrfau "#.utf8) + [0x00, 0x1F, 0x80, 0xC3, 0xFF]

    private static func mutate(_ bytes: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<7, using: &random) {
            case 0 where !bytes.isEmpty:
                bytes[position] ^= 1 << UInt8.random(in: 0..<8, using: &random)
            case 1 where !bytes.isEmpty:
                bytes[position] = interesting.randomElement(using: &random) ?? 0
            case 2 where !bytes.isEmpty:
                bytes.remove(at: position)
            case 3:
                bytes.insert(interesting.randomElement(using: &random) ?? 0, at: position)
            case 4:
                bytes.removeLast(bytes.count - position)
            case 5 where !bytes.isEmpty:
                let end = Int.random(in: position...bytes.count, using: &random)
                bytes.insert(contentsOf: bytes[position..<end], at: Int.random(in: 0...bytes.count, using: &random))
            default:
                bytes.insert(contentsOf: Array(#""\u"#.utf8), at: position)
            }
        }
        return bytes
    }

    @Test func mutatedDocumentsNeverCrashAndAgree() {
        // MIRE_JSON_FUZZ_ROUNDS and MIRE_JSON_FUZZ_SEED run a longer or different campaign.
        let environment = ProcessInfo.processInfo.environment
        let rounds = environment["MIRE_JSON_FUZZ_ROUNDS"].flatMap { Int($0) } ?? 4_000
        var random = SplitMix64(state: environment["MIRE_JSON_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x4D49_5245)
        var disagreements: [String] = []
        var successes = 0
        for round in 0..<rounds {
            let seed = Self.seeds[round % Self.seeds.count]
            var mutated = Self.mutate(Array(seed.document.utf8), &random)
            if round % 2 == 1 {
                // Past 4 KB the decoder skips containers by their recorded ends: test that too.
                mutated = Array(repeating: 0x20, count: 2_100) + mutated + Array(repeating: 0x0A, count: 2_100)
            }
            let (expected, actual, sameValue) = seed.compare(Data(mutated))
            let agrees =
                expected.isValue
                ? actual.isValue && sameValue
                : !actual.isValue && (!seed.compareErrorKinds || expected.kind == actual.kind)
            if expected.isValue { successes += 1 }
            if !agrees {
                let text = String(decoding: mutated, as: UTF8.self)
                disagreements.append(
                    "round \(round): \(text.debugDescription)\n  JSONDecoder: \(expected)\n  ours: \(actual)")
            }
        }
        #expect(
            disagreements.isEmpty,
            "\(disagreements.count) disagreements:\n\(disagreements.prefix(10).joined(separator: "\n"))")
        // The mutations must leave a fair share of documents decodable, or the test says little.
        #expect(successes > rounds / 20, "only \(successes) mutated documents decoded")
    }

    @Test func randomBytesNeverCrash() {
        var random = SplitMix64(state: 7)
        for _ in 0..<2_000 {
            let length = Int.random(in: 0..<48, using: &random)
            let bytes = (0..<length).map { _ in Self.interesting.randomElement(using: &random) ?? 0 }
            let (expected, actual, _) = Differential.compare([String: [Int?]].self, Data(bytes))
            #expect(expected.isValue == actual.isValue, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
        }
    }
}
