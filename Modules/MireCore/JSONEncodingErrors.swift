/// The errors of ``JSONBytesEncoder``: JSONEncoder's own where it throws, in its words.
enum JSONEncodingFailure {
    /// JSONEncoder's error for NaN or an infinity under its default `.throw` strategy:
    /// "Unable to encode Double.nan directly in JSON." at the value's coding path.
    static func nonConforming<F: BinaryFloatingPoint>(_ value: F, path: [any CodingKey]) -> EncodingError {
        .invalidValue(
            value,
            EncodingError.Context(
                codingPath: path, debugDescription: "Unable to encode \(F.self).\(value) directly in JSON."))
    }

    /// JSONEncoder's error for a top-level value whose `encode(to:)` wrote nothing.
    static func emptyTopLevel<T>(_ value: T) -> EncodingError {
        .invalidValue(
            value,
            EncodingError.Context(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
    }

    /// `Decimal.nan`: JSONEncoder writes it as the bare word `NaN`, which is not JSON (neither
    /// JSONDecoder nor PostgreSQL reads it back), so it is refused like a NaN Double.
    static func decimalNaN(_ value: Any, path: [any CodingKey]) -> EncodingError {
        .invalidValue(
            value,
            EncodingError.Context(
                codingPath: path,
                debugDescription:
                    "Unable to encode Decimal.nan directly in JSON (JSONEncoder would write NaN, which is not JSON)."
            ))
    }

    /// Containers nested 512 deep: JSONEncoder's writer refuses them (it writes at most 511
    /// levels) with "Unable to encode the given top-level value to JSON."; this says why and
    /// where.
    static var tooDeepMessage: String {
        "Unable to encode the given top-level value to JSON: containers are nested \(JSONEncodingLimits.maximumDepth) deep, "
            + "past the \(JSONEncodingLimits.maximumDepth - 1) levels JSONEncoder writes."
    }
}

/// Limits shared with JSONEncoder.
enum JSONEncodingLimits {
    /// JSONEncoder's writer refuses containers nested this deep (511 levels are written).
    static var maximumDepth: Int { 512 }
}

/// Thrown through the value's `encode(to:)` once the encode has been refused (too deep, or a
/// use of containers that would trap JSONEncoder): the top level replaces it with the
/// recorded `EncodingError`, even if the value's own code caught it.
struct JSONEncodingRefused: Error {}

/// Thrown by ``JSONBytesEncoder/encodeEnumCase(_:)`` when the value did not encode as an object
/// with exactly one key, the shape synthesized `Codable` gives an enum case.
///
/// ```swift
/// do {
///     _ = try JSONBytesEncoder().encodeEnumCase(42)
/// } catch is JSONNotOneKeyObject {
///     // not an enum case
/// }
/// ```
package struct JSONNotOneKeyObject: Error, CustomStringConvertible {
    /// The name of the type that was encoded.
    ///
    /// ```swift
    /// error.typeName  // "Int"
    /// ```
    package let typeName: String

    /// What went wrong, in words.
    ///
    /// ```swift
    /// print(error)  // Int did not encode as an object with exactly one key
    /// ```
    package var description: String { "\(typeName) did not encode as an object with exactly one key" }
}
