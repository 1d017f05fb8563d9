internal import Foundation

/// The `Decoder` behind ``JSONBytesDecoder``: one per decode (and per `superDecoder`), reused for
/// every nested value the way JSONDecoder reuses its own, so descending into a value costs no
/// allocation. It is also the single-value container of the value it is reading.
final class JSONValueDecoder: Decoder, SingleValueDecodingContainer {
    let buffer: JSONBuffer
    let bytes: UnsafePointer<UInt8>
    let end: Int
    /// Where containers end, for larger documents.
    let containers: JSONContainerEnds
    // Unchecked exclusivity: these are read and written on every value, never while another
    // access is in progress (no closure here mutates them), so the dynamic checks only cost.

    /// The value `init(from:)` is reading now, and its coding path (a shared node plus the last
    /// step, kept apart so that no node is built unless a container or an error needs it).
    @exclusivity(unchecked) private var value: Int
    @exclusivity(unchecked) private var parentPath: JSONCodingPath?
    @exclusivity(unchecked) private var lastComponent: JSONPathComponent?
    /// The members of objects too large to keep them inline in their container; each such
    /// container owns a range of it. Allocated when first needed.
    @exclusivity(unchecked) var members: ContiguousArray<JSONMember> = []

    init(
        buffer: JSONBuffer, containers: JSONContainerEnds, value: Int, parentPath: JSONCodingPath?,
        lastComponent: JSONPathComponent?
    ) {
        self.buffer = buffer
        self.containers = containers
        self.bytes = UnsafePointer(buffer.base)
        self.end = buffer.end
        self.value = value
        self.parentPath = parentPath
        self.lastComponent = lastComponent
    }

    /// The offset after the value at `offset`: recorded for larger containers, else scanned.
    @inline(__always)
    func valueEnd(_ offset: Int) -> Int {
        if !containers.isEmpty, offset < end, bytes[offset] == UInt8(ascii: "{") || bytes[offset] == UInt8(ascii: "["),
            let recorded = containers.end(ofContainerAt: offset)
        {
            return recorded
        }
        return JSONScan.valueEnd(bytes, offset, end)
    }

    /// The byte at `index`, or 0 (never the start of a value) outside the buffer.
    @inline(__always)
    func byte(at index: Int) -> UInt8 { index >= 0 && index < end ? bytes[index] : 0 }

    // MARK: Decoder

    var codingPath: [any CodingKey] { JSONCodingPath.keys(parentPath, lastComponent) }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(
            try JSONKeyedContainer<Key>(decoder: self, object: value, parent: parentPath, pending: lastComponent))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try JSONUnkeyedContainer(decoder: self, array: value, parent: parentPath, pending: lastComponent)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: Values

    /// Decodes the value at `offset` as `T`, with the special cases JSONDecoder makes (Data as
    /// Base64, Date as a number, URL as a string, Decimal) and common leaf types read directly.
    ///
    /// The value's coding path is `parent`, then `pending` and `last` when present: containers
    /// pass their own path unbuilt, and a node is made only if `init(from:)` runs.
    func unwrap<T: Decodable>(
        _ type: T.Type, at offset: Int, parent: JSONCodingPath?, pending: JSONPathComponent?,
        last: JSONPathComponent?
    ) throws -> T {
        // Leaf types are read straight from the bytes, not through their `init(from:)`.
        switch JSONLeafType(T.self) {
        case .other:
            break
        case .string:
            return cast(
                try read(String.self, parent, pending, last) { () throws(JSONValueError) in try string(at: offset) })
        case .bool:
            return cast(
                try read(Bool.self, parent, pending, last) { () throws(JSONValueError) in try bool(at: offset) })
        case .double:
            return cast(
                try read(Double.self, parent, pending, last) { () throws(JSONValueError) in try double(at: offset) })
        case .float:
            return cast(
                try read(Float.self, parent, pending, last) { () throws(JSONValueError) in try float(at: offset) })
        case .int: return cast(try leafInteger(Int.self, offset, parent, pending, last))
        case .int8: return cast(try leafInteger(Int8.self, offset, parent, pending, last))
        case .int16: return cast(try leafInteger(Int16.self, offset, parent, pending, last))
        case .int32: return cast(try leafInteger(Int32.self, offset, parent, pending, last))
        case .int64: return cast(try leafInteger(Int64.self, offset, parent, pending, last))
        case .uint: return cast(try leafInteger(UInt.self, offset, parent, pending, last))
        case .uint8: return cast(try leafInteger(UInt8.self, offset, parent, pending, last))
        case .uint16: return cast(try leafInteger(UInt16.self, offset, parent, pending, last))
        case .uint32: return cast(try leafInteger(UInt32.self, offset, parent, pending, last))
        case .uint64: return cast(try leafInteger(UInt64.self, offset, parent, pending, last))
        case .data:
            return cast(try data(at: offset, path: JSONCodingPath.keys(parent, pending, last)))
        case .url:
            if byte(at: offset) == UInt8(ascii: "n") {
                throw JSONValueError.null.decodingError(URL.self, path: JSONCodingPath.keys(parent, pending, last))
            }
            let string = try read(String.self, parent, pending, last) { () throws(JSONValueError) in
                try self.string(at: offset)
            }
            guard let url = URL(string: string) else {
                throw JSONValueError.refused("Invalid URL string.").decodingError(
                    URL.self, path: JSONCodingPath.keys(parent, pending, last))
            }
            return cast(url)
        case .decimal:
            let kind = JSONValueKind(firstByte: byte(at: offset))
            if kind == .null {
                throw JSONValueError.null.decodingError(Decimal.self, path: JSONCodingPath.keys(parent, pending, last))
            }
            guard kind == .number else {
                throw DecodingError.typeMismatch(
                    Decimal.self,
                    DecodingError.Context(codingPath: JSONCodingPath.keys(parent, pending, last), debugDescription: ""))
            }
            return cast(try decimal(at: offset))
        case .date:
            // Then Date's own `init(from:)`: a Double, seconds since 2001.
            if byte(at: offset) == UInt8(ascii: "n") {
                throw JSONValueError.null.decodingError(Date.self, path: JSONCodingPath.keys(parent, pending, last))
            }
        }
        // `init(from:)` runs with this decoder reading the value, and the previous one after.
        let savedValue = value
        let savedParent = parentPath
        let savedLast = lastComponent
        value = offset
        if let last {
            parentPath = JSONCodingPath.node(parent, pending)
            lastComponent = last
        } else {
            parentPath = parent
            lastComponent = pending
        }
        defer {
            value = savedValue
            parentPath = savedParent
            lastComponent = savedLast
        }
        return try T(from: self)
    }

    @inline(__always)
    private func leafInteger<I: FixedWidthInteger & Decodable>(
        _ type: I.Type, _ offset: Int, _ parent: JSONCodingPath?, _ pending: JSONPathComponent?,
        _ last: JSONPathComponent?
    ) throws -> I {
        try read(I.self, parent, pending, last) { () throws(JSONValueError) in try integer(I.self, at: offset) }
    }

    /// Runs a value reader, turning its failure into JSONDecoder's error at the given path.
    @inline(__always)
    func read<R>(
        _ type: Any.Type, _ parent: JSONCodingPath?, _ pending: JSONPathComponent?, _ last: JSONPathComponent?,
        _ reader: () throws(JSONValueError) -> R
    ) throws -> R {
        do {
            return try reader()
        } catch {
            throw error.decodingError(type, path: JSONCodingPath.keys(parent, pending, last))
        }
    }

    /// Reinterprets a value as `T` once the caller has checked that `T` is its type.
    @inline(__always)
    private func cast<Value, T>(_ value: Value) -> T {
        // Checked rather than assumed: a wrong cast here would be memory corruption.
        precondition(Value.self == T.self)
        return unsafeBitCast(value, to: T.self)
    }

    // MARK: Readers (no path: callers add it to the error)

    /// The leaf readers over this decoder's bytes.
    @inline(__always)
    private var leaves: JSONLeafReader { JSONLeafReader(bytes: bytes, end: end) }

    @inline(__always)
    func bool(at offset: Int) throws(JSONValueError) -> Bool { try leaves.bool(at: offset) }

    @inline(__always)
    func string(at offset: Int) throws(JSONValueError) -> String { try leaves.string(at: offset) }

    @inline(__always)
    func integer<I: FixedWidthInteger & Decodable>(_ type: I.Type, at offset: Int) throws(JSONValueError) -> I {
        try leaves.integer(type, at: offset)
    }

    @inline(__always)
    func double(at offset: Int) throws(JSONValueError) -> Double { try leaves.double(at: offset) }

    @inline(__always)
    func float(at offset: Int) throws(JSONValueError) -> Float { try leaves.float(at: offset) }

    /// Data from a Base64 string (JSONDecoder's default strategy).
    private func data(at offset: Int, path: @autoclosure () -> [any CodingKey]) throws -> Data {
        let kind = JSONValueKind(firstByte: byte(at: offset))
        if kind == .null { throw JSONValueError.null.decodingError(Data.self, path: path()) }
        let string: String
        do {
            string = try self.string(at: offset)
        } catch {
            throw error.decodingError(String.self, path: path())
        }
        guard let data = Data(base64Encoded: string) else {
            throw JSONValueError.refused("Encountered Data is not valid Base64.").decodingError(Data.self, path: path())
        }
        return data
    }

    /// Decimal numbers, decoded by JSONDecoder itself: its Decimal parser is not public, and
    /// matching it digit for digit matters more than speed for this rare type.
    private func decimal(at offset: Int) throws -> Decimal {
        let text = UnsafeBufferPointer(start: bytes + offset, count: JSONScan.numberEnd(bytes, offset, end) - offset)
        do {
            return try JSONFallback.decoder.decode(Decimal.self, from: Data(text))
        } catch {
            throw JSONDecodingFailure.invalidJSON
        }
    }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool { byte(at: value) == UInt8(ascii: "n") }

    func decode(_ type: Bool.Type) throws -> Bool {
        let offset = value
        return try read(type, parentPath, lastComponent, nil) { () throws(JSONValueError) in try bool(at: offset) }
    }

    func decode(_ type: String.Type) throws -> String {
        let offset = value
        return try read(type, parentPath, lastComponent, nil) { () throws(JSONValueError) in try string(at: offset) }
    }

    func decode(_ type: Double.Type) throws -> Double {
        let offset = value
        return try read(type, parentPath, lastComponent, nil) { () throws(JSONValueError) in try double(at: offset) }
    }

    func decode(_ type: Float.Type) throws -> Float {
        let offset = value
        return try read(type, parentPath, lastComponent, nil) { () throws(JSONValueError) in try float(at: offset) }
    }

    func decode(_ type: Int.Type) throws -> Int { try decodeInteger(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeInteger(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeInteger(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeInteger(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeInteger(type) }
    func decode(_ type: Int128.Type) throws -> Int128 { try decodeInteger(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeInteger(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeInteger(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeInteger(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeInteger(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeInteger(type) }
    func decode(_ type: UInt128.Type) throws -> UInt128 { try decodeInteger(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try unwrap(type, at: value, parent: parentPath, pending: lastComponent, last: nil)
    }

    @inline(__always)
    private func decodeInteger<I: FixedWidthInteger & Decodable>(_ type: I.Type) throws -> I {
        let offset = value
        return try read(type, parentPath, lastComponent, nil) { () throws(JSONValueError) in
            try integer(type, at: offset)
        }
    }
}

/// The types the decoder reads without their `init(from:)`: leaves, and JSONDecoder's special
/// cases. Classified once per value, by type identity.
enum JSONLeafType {
    case other, string, bool, double, float, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64
    case data, date, url, decimal

    init(_ type: Any.Type) {
        if type == String.self {
            self = .string
        } else if type == Int.self {
            self = .int
        } else if type == Int64.self {
            self = .int64
        } else if type == Double.self {
            self = .double
        } else if type == Bool.self {
            self = .bool
        } else if type == Int32.self {
            self = .int32
        } else if type == UInt64.self {
            self = .uint64
        } else if type == Float.self {
            self = .float
        } else if type == Date.self {
            self = .date
        } else if type == Data.self {
            self = .data
        } else if type == URL.self {
            self = .url
        } else if type == Decimal.self {
            self = .decimal
        } else if type == UInt.self {
            self = .uint
        } else if type == Int8.self {
            self = .int8
        } else if type == Int16.self {
            self = .int16
        } else if type == UInt8.self {
            self = .uint8
        } else if type == UInt16.self {
            self = .uint16
        } else if type == UInt32.self {
            self = .uint32
        } else {
            self = .other
        }
    }
}
