import Foundation
import MireCore

/// JSON text with every object's members sorted by key, and every other token (strings with
/// their escapes, numbers as written) kept byte for byte: two encoders' outputs are equal here
/// exactly when they differ at most in key order.
enum CanonicalJSON {
    /// The canonical text of `bytes`, or nil when they are not one JSON value without
    /// whitespace (what JSONEncoder and JSONBytesEncoder write).
    static func text(_ bytes: [UInt8]) -> String? {
        var index = 0
        guard let value = parse(bytes, &index), index == bytes.count else { return nil }
        return value
    }

    static func text(_ data: Data) -> String? { text([UInt8](data)) }

    private static func parse(_ bytes: [UInt8], _ index: inout Int) -> String? {
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            index += 1
            var members: [(key: String, value: String)] = []
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return "{}"
            }
            while true {
                guard let key = string(bytes, &index), index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                    return nil
                }
                index += 1
                guard let value = parse(bytes, &index), index < bytes.count else { return nil }
                members.append((key, value))
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index += 1
                    break
                } else {
                    return nil
                }
            }
            members.sort { $0.key < $1.key }
            return "{" + members.map { "\($0.key):\($0.value)" }.joined(separator: ",") + "}"
        case UInt8(ascii: "["):
            index += 1
            var elements: [String] = []
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return "[]"
            }
            while true {
                guard let element = parse(bytes, &index), index < bytes.count else { return nil }
                elements.append(element)
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    index += 1
                    break
                } else {
                    return nil
                }
            }
            return "[" + elements.joined(separator: ",") + "]"
        case UInt8(ascii: "\""):
            return string(bytes, &index)
        default:
            let start = index
            while index < bytes.count, !",]}:".utf8.contains(bytes[index]) { index += 1 }
            return index > start ? String(decoding: bytes[start..<index], as: UTF8.self) : nil
        }
    }

    /// A string token as written, quotes and escapes included.
    private static func string(_ bytes: [UInt8], _ index: inout Int) -> String? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let start = index
        index += 1
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if bytes[index] == UInt8(ascii: "\"") {
                index += 1
                return String(decoding: bytes[start..<index], as: UTF8.self)
            }
            index += 1
        }
        return nil
    }
}

/// What an encode produced, comparable between encoders: canonical text, or the error's case,
/// path and message.
enum EncodeOutcome: Equatable, CustomStringConvertible {
    case json(String)
    case error(String)

    init(_ encode: () throws -> Data) {
        do {
            let data = try encode()
            self = .json(CanonicalJSON.text(data) ?? "not canonical: \(String(decoding: data, as: UTF8.self))")
        } catch let error as EncodingError {
            switch error {
            case .invalidValue(let value, let context):
                let path = context.codingPath.map { key in
                    key.intValue.map { "\(key.stringValue)#\($0)" } ?? key.stringValue
                }
                self = .error("invalidValue \(value) at \(path): \(context.debugDescription)")
            @unknown default:
                self = .error("\(error)")
            }
        } catch {
            self = .error("other \(error)")
        }
    }

    var description: String {
        switch self {
        case .json(let text): text
        case .error(let text): text
        }
    }
}

/// Any key, for types that write containers by hand.
struct EncoderKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(_ name: String) {
        stringValue = name
        intValue = nil
    }

    init(stringValue: String) { self.init(stringValue) }

    init?(intValue: Int) {
        stringValue = "\(intValue)"
        self.intValue = intValue
    }
}

/// A value whose `encode(to:)` is a closure: hand-written uses of the containers.
struct Scripted: Encodable {
    let script: (any Encoder) throws -> Void

    init(_ script: @escaping (any Encoder) throws -> Void) { self.script = script }

    func encode(to encoder: any Encoder) throws { try script(encoder) }
}

/// Writes the coding paths its encoder and containers report, to compare them with
/// JSONEncoder's.
struct PathReport: Encodable {
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(encoder.codingPath.map(\.stringValue).joined(separator: "."))
    }
}

/// A class hierarchy encoding its superclass with `superEncoder()`, as hand-written Codable
/// for classes does.
class Vehicle: Encodable {
    var wheels = 4
    var name = "car"
}

final class Truck: Vehicle {
    var load = 12.5
    var axles: [Int] = [2, 3]

    private enum CodingKeys: String, CodingKey { case load, axles }

    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(load, forKey: .load)
        try super.encode(to: container.superEncoder())
        try container.encode(axles, forKey: .axles)
    }
}

/// A subclass encoding into the same encoder as its superclass: JSONEncoder merges the two
/// keyed containers into one object.
final class Bus: Vehicle {
    var seats = 40

    private enum CodingKeys: String, CodingKey { case seats }

    override func encode(to encoder: any Encoder) throws {
        try super.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(seats, forKey: .seats)
    }
}

/// Nested as deep as `depth` arrays.
struct NestedArrays: Encodable {
    let depth: Int

    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        if depth > 1 { try container.encode(NestedArrays(depth: depth - 1)) }
    }
}

/// Events of every shape synthesized Codable gives enum cases.
enum ShapeEvent: Codable, Equatable {
    case empty
    case labelled(amount: Int64, note: String?)
    case unlabelled(Int, String)
    case mixed(Int, label: String)
    case nested(Money, [Int])
    case date(Date)
}
