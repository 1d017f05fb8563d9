/// A SQL statement whose interpolated values become bound parameters.
///
/// Every `\(value)` turns into `$1`, `$2`, … and travels separately from the SQL text, so SQL
/// injection is impossible by construction. Identifiers go through `\(identifier:)`, which quotes.
///
/// ```swift
/// let name = "Robert'); DROP TABLE students;--"
/// let query: PGQuery = "INSERT INTO \(identifier: table) (name) VALUES (\(name))"
/// // sql: INSERT INTO "students" (name) VALUES ($1)
/// ```
public struct PGQuery: Sendable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The SQL text, with `$n` placeholders.
    public var sql: String
    /// The parameters, in placeholder order.
    public var bindings: PGBindings

    /// A statement from SQL text you built yourself and parameters you bound yourself.
    ///
    /// ```swift
    /// var bindings = PGBindings()
    /// bindings.append(42)
    /// let query = PGQuery(unsafeSQL: "SELECT $1::int8", bindings: bindings)
    /// ```
    public init(unsafeSQL sql: String, bindings: PGBindings = PGBindings()) {
        self.sql = sql
        self.bindings = bindings
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, bindings: stringInterpolation.bindings)
    }

    /// The SQL text only: parameters are data and are not shown.
    public var description: String { sql }

    /// Builds a ``PGQuery`` from a string literal with interpolations.
    public struct StringInterpolation: StringInterpolationProtocol {
        var sql: String
        var bindings = PGBindings()

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// Binds `value` as the next parameter.
        public mutating func appendInterpolation(_ value: some PGEncodable) {
            bindings.append(value)
            sql += "$\(bindings.count)"
        }

        /// Binds an optional value as the next parameter: `NULL` when nil.
        public mutating func appendInterpolation<Value: PGEncodable>(_ value: Value?) {
            bindings.append(value)
            sql += "$\(bindings.count)"
        }

        /// Inserts a quoted identifier (a table, schema or column name).
        public mutating func appendInterpolation(identifier: String) {
            sql += "\"" + identifier.replacing("\"", with: "\"\"") + "\""
        }

        /// Inserts SQL text verbatim. Never pass user input here.
        public mutating func appendInterpolation(unescaped: String) {
            sql += unescaped
        }
    }
}

/// The parameters of a ``PGQuery``, already in binary wire format.
///
/// Every value is written straight into one buffer, back to back: binding a statement's
/// parameters costs a few allocations, not one per value.
///
/// ```swift
/// var bindings = PGBindings()
/// bindings.append("hello")
/// bindings.append(Optional<Int64>.none)  // NULL
/// ```
public struct PGBindings: Sendable, Hashable {
    /// Each parameter's type OID.
    public private(set) var types: [UInt32] = []
    /// Every non-null value's bytes, back to back.
    private(set) var storage: [UInt8] = []
    /// Where each parameter's bytes start in `storage`.
    private(set) var offsets: [Int] = []
    /// Each parameter's length in bytes; -1 for `NULL`.
    private(set) var lengths: [Int32] = []

    /// No parameters.
    public init() {}

    /// How many parameters are bound.
    public var count: Int { types.count }

    /// Each parameter's bytes, nil for `NULL`.
    public var values: [[UInt8]?] {
        zip(offsets, lengths).map { offset, length in
            length < 0 ? nil : Array(storage[offset..<(offset + Int(length))])
        }
    }

    /// Binds `value` as the next parameter.
    public mutating func append(_ value: some PGEncodable) {
        if types.isEmpty { reserveForATypicalStatement() }
        types.append(type(of: value).postgresType.oid)
        let start = storage.count
        offsets.append(start)
        if value.isPostgresNull {
            lengths.append(-1)
            return
        }
        var writer = PGBinaryWriter()
        swap(&writer.bytes, &storage)
        value.encode(into: &writer)
        swap(&writer.bytes, &storage)
        lengths.append(Int32(clamping: storage.count - start))
    }

    /// Room for a typical statement's parameters, made once: the four arrays would otherwise
    /// grow one reallocation at a time (1, 2, 4, 8 elements) on every statement.
    private mutating func reserveForATypicalStatement() {
        types.reserveCapacity(8)
        offsets.reserveCapacity(8)
        lengths.reserveCapacity(8)
        storage.reserveCapacity(256)
    }
}
