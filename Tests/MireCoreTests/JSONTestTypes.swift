import Foundation

/// Types the JSON decoder tests decode with both decoders.
enum AccountEvent: Codable, Equatable {
    case opened(owner: String)
    case deposited(amount: Int64)
    case withdrawn(amount: Int64)
    case transferredOut(amount: Int64, to: String)
    case closed
    case credited(Int)
    case tagged(String, note: String?)
}

enum Currency: String, Codable, Equatable {
    case euro = "EUR"
    case pound = "GBP"
}

struct Money: Codable, Equatable {
    var amount: Int64
    var currency: Currency
}

struct Entry: Codable, Equatable {
    var id: Int
    var label: String
    var money: Money
    var flags: [Bool]
    var ratio: Double?
}

struct Ledger: Codable, Equatable {
    var owner: String
    var entries: [Entry]
    var balances: [String: Int64]
    var limits: [Int: Double]
    var opened: Date
    var tags: Set<String>
    var nested: [[Int8]]
}

struct Scalars: Codable, Equatable {
    var bool: Bool
    var string: String
    var int: Int
    var int8: Int8
    var int16: Int16
    var int32: Int32
    var int64: Int64
    var uint: UInt
    var uint8: UInt8
    var uint16: UInt16
    var uint32: UInt32
    var uint64: UInt64
    var double: Double
    var float: Float
}

struct Optionals: Codable, Equatable {
    var bool: Bool?
    var string: String?
    var int: Int?
    var uint8: UInt8?
    var double: Double?
    var float: Float?
    var money: Money?
    var list: [Int?]?
}

struct Foundations: Codable, Equatable {
    var date: Date
    var data: Data
    var url: URL
    var uuid: UUID
    var decimal: Decimal
    var maybeDate: Date?
    var maybeData: Data?
    var maybeURL: URL?
}

struct Wide: Codable, Equatable {
    var int128: Int128
    var uint128: UInt128
}

/// A key for any name, for types that walk containers by hand.
struct AnyKey: CodingKey, Equatable {
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

/// Walks every container API and records what it saw, so two decoders can be compared on all
/// of them: allKeys, contains, decodeNil, superDecoder, nested containers, count, isAtEnd,
/// decodeIfPresent past the end, currentIndex.
struct ContainerTour: Decodable, Equatable {
    var log: [String] = []

    init(from decoder: any Decoder) throws {
        let object = try decoder.container(keyedBy: AnyKey.self)
        log.append("keys \(object.allKeys.map(\.stringValue).sorted())")
        log.append("path \(object.codingPath.map(\.stringValue))")
        for name in ["a", "n", "list", "super", "missing"] {
            log.append("contains \(name) \(object.contains(AnyKey(name)))")
        }
        if object.contains(AnyKey("n")) { log.append("nil n \(try object.decodeNil(forKey: AnyKey("n")))") }
        let superDecoder = try object.superDecoder()
        log.append("super path \(superDecoder.codingPath.map(\.stringValue))")
        log.append("super nil \(try superDecoder.singleValueContainer().decodeNil())")
        let keyed = try object.superDecoder(forKey: AnyKey("a"))
        log.append("super a \(try keyed.singleValueContainer().decodeIfPresentInt())")
        if object.contains(AnyKey("list")) {
            var list = try object.nestedUnkeyedContainer(forKey: AnyKey("list"))
            log.append("count \(list.count ?? -1) path \(list.codingPath.map(\.stringValue))")
            while !list.isAtEnd {
                if try list.decodeNil() {
                    log.append("null")
                } else if let number = try? list.decode(Int.self) {
                    log.append("int \(number)")
                } else if var inner = try? list.nestedUnkeyedContainer() {
                    log.append("inner \(inner.count ?? -1) \(try inner.decodeIfPresent(String.self) ?? "-")")
                } else {
                    let element = try list.superDecoder()
                    log.append("other at \(element.codingPath.map(\.stringValue))")
                }
            }
            log.append("past end \(String(describing: try list.decodeIfPresent(Int.self))) \(list.currentIndex)")
            log.append("at end \(list.isAtEnd)")
        }
        if object.contains(AnyKey("object")) {
            let nested = try object.nestedContainer(keyedBy: AnyKey.self, forKey: AnyKey("object"))
            log.append("nested \(nested.allKeys.map(\.stringValue).sorted()) \(nested.codingPath.map(\.stringValue))")
            log.append("nested x \(try nested.decodeIfPresent(Double.self, forKey: AnyKey("x")) ?? -1)")
        }
    }
}

extension SingleValueDecodingContainer {
    fileprivate func decodeIfPresentInt() throws -> String {
        decodeNil() ? "nil" : "\(try decode(Int.self))"
    }
}

/// Arrays nested as deep as the document goes.
struct Nest: Decodable, Equatable {
    var depth: Int

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        depth = container.isAtEnd ? 1 : try container.decode(Nest.self).depth + 1
    }
}

/// Any JSON value, read by trying each kind in turn (`try?`): decodes every document both
/// decoders accept, exercising numbers, strings and containers whatever their shape.
indirect enum AnyJSON: Decodable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([AnyJSON])
    case object([String: AnyJSON])
    case unsigned(UInt8)

    init(from decoder: any Decoder) throws {
        let value = try decoder.singleValueContainer()
        if value.decodeNil() {
            self = .null
        } else if let bool = try? value.decode(Bool.self) {
            self = .bool(bool)
        } else if let small = try? value.decode(UInt8.self) {
            self = .unsigned(small)
        } else if let integer = try? value.decode(Int64.self) {
            self = .integer(integer)
        } else if let number = try? value.decode(Double.self) {
            self = .number(number)
        } else if let string = try? value.decode(String.self) {
            self = .string(string)
        } else if let array = try? value.decode([AnyJSON].self) {
            self = .array(array)
        } else if let object = try? value.decode([String: AnyJSON].self) {
            self = .object(object)
        } else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "no kind fits"))
        }
    }
}

/// Records the coding path its decoder reports at every level, and of errors below it.
struct PathProbe: Decodable, Equatable {
    var path: [String]
    var child: [PathProbe]
    var failure: String

    init(from decoder: any Decoder) throws {
        path = decoder.codingPath.map { key in key.intValue.map { "\(key.stringValue)#\($0)" } ?? key.stringValue }
        child = []
        failure = ""
        if var list = try? decoder.unkeyedContainer() {
            while !list.isAtEnd { child.append(try list.decode(PathProbe.self)) }
        } else if let object = try? decoder.container(keyedBy: AnyKey.self) {
            for key in object.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                child.append(try object.decode(PathProbe.self, forKey: key))
            }
        } else {
            do {
                _ = try decoder.singleValueContainer().decode(Int8.self)
            } catch let error as DecodingError {
                failure = "\(DecodeOutcome(error))"
            } catch {
                // JSONDecoder throws its internal JSONError here and turns it into this at the top.
                failure = "\(DecodeOutcome(JSONDecodingFailureForTests.invalidJSON))"
            }
        }
    }
}

enum JSONDecodingFailureForTests {
    static let invalidJSON = DecodingError.dataCorrupted(
        .init(codingPath: [], debugDescription: "The given data was not valid JSON."))
}
