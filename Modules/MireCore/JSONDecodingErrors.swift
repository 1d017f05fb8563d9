/// What a JSON value is, in the words JSONDecoder's error messages use.
enum JSONValueKind {
    case string, number, bool, null, object, array

    /// The kind of the value starting with `byte` (in a syntax-checked document).
    init(firstByte byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): self = .string
        case UInt8(ascii: "{"): self = .object
        case UInt8(ascii: "["): self = .array
        case UInt8(ascii: "t"), UInt8(ascii: "f"): self = .bool
        case UInt8(ascii: "n"): self = .null
        default: self = .number
        }
    }

    var phrase: String {
        switch self {
        case .string: "a string"
        case .number: "number"
        case .bool: "bool"
        case .null: "null"
        case .object: "a dictionary"
        case .array: "an array"
        }
    }
}

/// Why one value could not be read, before its coding path is known: containers turn it into
/// the `DecodingError` JSONDecoder throws, with their path.
enum JSONValueError: Error {
    /// `null` where a value was required: `valueNotFound`.
    case null
    /// A value of another kind: `typeMismatch`.
    case mismatch(found: JSONValueKind)
    /// Malformed or unrepresentable text (a bad escape, `01`, `300` for an `Int8`): JSONDecoder
    /// reports these as invalid JSON, with an empty coding path.
    case corrupt
    /// A well-formed value its type refuses (bad Base64, a bad URL): `dataCorrupted` at the path.
    case refused(String)

    /// The error JSONDecoder throws for this failure, decoding `type` at `path`.
    func decodingError(_ type: Any.Type, path: @autoclosure () -> [any CodingKey]) -> DecodingError {
        switch self {
        case .null:
            return .valueNotFound(
                type,
                DecodingError.Context(
                    codingPath: path(), debugDescription: "Cannot get value of type \(type) -- found null value instead"
                ))
        case .mismatch(let found):
            return .typeMismatch(
                type,
                DecodingError.Context(
                    codingPath: path(),
                    debugDescription: "Expected to decode \(type) but found \(found.phrase) instead."))
        case .corrupt:
            return JSONDecodingFailure.invalidJSON
        case .refused(let description):
            return .dataCorrupted(DecodingError.Context(codingPath: path(), debugDescription: description))
        }
    }
}

/// The fixed errors of the decoder.
enum JSONDecodingFailure {
    /// What JSONDecoder throws for any syntax error, anywhere in the document.
    static var invalidJSON: DecodingError {
        .dataCorrupted(DecodingError.Context(codingPath: [], debugDescription: "The given data was not valid JSON."))
    }

    static func keyNotFound(_ key: any CodingKey, path: [any CodingKey]) -> DecodingError {
        .keyNotFound(
            key,
            DecodingError.Context(
                codingPath: path, debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\")."))
    }

    /// A keyed container asked of a value that is not an object.
    static func notAnObject(_ kind: JSONValueKind, path: [any CodingKey]) -> DecodingError {
        if kind == .null {
            return .valueNotFound(
                [String: Any].self,
                DecodingError.Context(
                    codingPath: path,
                    debugDescription: "Cannot get keyed decoding container -- found null value instead"))
        }
        return .typeMismatch(
            [String: Any].self,
            DecodingError.Context(
                codingPath: path,
                debugDescription: "Expected to decode \([String: Any].self) but found \(kind.phrase) instead."))
    }

    /// An unkeyed container asked of a value that is not an array.
    static func notAnArray(_ kind: JSONValueKind, path: [any CodingKey]) -> DecodingError {
        if kind == .null {
            return .valueNotFound(
                [Any].self,
                DecodingError.Context(
                    codingPath: path,
                    debugDescription: "Cannot get unkeyed decoding container -- found null value instead"))
        }
        return .typeMismatch(
            [Any].self,
            DecodingError.Context(
                codingPath: path, debugDescription: "Expected to decode \([Any].self) but found \(kind.phrase) instead."
            ))
    }

    /// An unkeyed container read past its end.
    static func atEnd(_ type: Any.Type, path: [any CodingKey], message: String = "Unkeyed container is at end.")
        -> DecodingError
    {
        .valueNotFound(type, DecodingError.Context(codingPath: path, debugDescription: message))
    }
}
