import Foundation
import MireCore

/// What a decode produced, in a form two decoders' results can be compared by. Values are
/// compared apart (with `==`): two outcomes with values are equal here.
enum DecodeOutcome: Equatable, CustomStringConvertible {
    case value(String)
    case error(kind: String, path: String, detail: String)

    static func == (left: DecodeOutcome, right: DecodeOutcome) -> Bool {
        switch (left, right) {
        case (.value, .value): true
        case (.error(let a, let b, let c), .error(let d, let e, let f)): a == d && b == e && c == f
        default: false
        }
    }

    var description: String {
        switch self {
        case .value(let value): "value \(value)"
        case .error(let kind, let path, let detail): "\(kind) at [\(path)]: \(detail)"
        }
    }

    var isValue: Bool {
        if case .value = self { return true }
        return false
    }

    /// The error's case alone (the path of a failing dictionary value depends on JSONDecoder's
    /// hash order).
    var kind: String? {
        if case .error(let kind, _, _) = self { return kind }
        return nil
    }

    init(_ error: any Error) {
        guard let error = error as? DecodingError else {
            self = .error(kind: "other", path: "", detail: "\(error)")
            return
        }
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { key in key.intValue.map { "\(key.stringValue)#\($0)" } ?? key.stringValue }
                .joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let context):
            self = .error(kind: "typeMismatch", path: path(context), detail: "\(type): \(context.debugDescription)")
        case .valueNotFound(let type, let context):
            self = .error(kind: "valueNotFound", path: path(context), detail: "\(type): \(context.debugDescription)")
        case .keyNotFound(let key, let context):
            self = .error(
                kind: "keyNotFound", path: path(context), detail: "\(key.stringValue): \(context.debugDescription)")
        case .dataCorrupted(let context):
            self = .error(kind: "dataCorrupted", path: path(context), detail: context.debugDescription)
        @unknown default:
            self = .error(kind: "unknown", path: "", detail: "\(error)")
        }
    }
}

/// Decodes with Foundation's JSONDecoder and with JSONBytesDecoder.
enum Differential {
    static let foundation = JSONDecoder()

    static func outcome<T: Decodable & Equatable>(_ decode: () throws -> T) -> (DecodeOutcome, T?) {
        do {
            let value = try decode()
            return (.value(String(describing: value)), value)
        } catch {
            return (DecodeOutcome(error), nil)
        }
    }

    /// Both outcomes; values compare with `==` and floating point also by sign (`-0.0`).
    static func compare<T: Decodable & Equatable>(_ type: T.Type, _ data: Data) -> (
        expected: DecodeOutcome, actual: DecodeOutcome, sameValue: Bool
    ) {
        let (expected, expectedValue) = outcome { try foundation.decode(T.self, from: data) }
        let (actual, actualValue) = outcome { try JSONBytesDecoder().decode(T.self, from: data) }
        return (expected, actual, expectedValue == actualValue && signs(expectedValue) == signs(actualValue))
    }

    /// The signs of floating-point values, which `==` ignores for zeros.
    private static func signs(_ value: Any?) -> [FloatingPointSign] {
        switch value {
        case let double as Double: [double.sign]
        case let float as Float: [float.sign]
        case let doubles as [Double]: doubles.map(\.sign)
        case let doubles as [Double?]: doubles.compactMap { $0?.sign }
        default: []
        }
    }
}

/// A fixed-seed generator, so that a failing random case can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
