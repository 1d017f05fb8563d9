/// A PostgreSQL type, identified by its OID.
///
/// ```swift
/// let type = PGDataType.jsonb
/// print(type)  // jsonb
/// ```
public struct PGDataType: Hashable, Sendable, CustomStringConvertible {
    /// The type's OID in `pg_type`.
    public let oid: UInt32

    /// A type by OID.
    ///
    /// ```swift
    /// let int4 = PGDataType(oid: 23)
    /// ```
    public init(oid: UInt32) { self.oid = oid }

    /// `bool` (OID 16).
    public static let bool = Self(oid: 16)
    /// `bytea` (OID 17).
    public static let bytea = Self(oid: 17)
    /// `char` (OID 18).
    public static let char = Self(oid: 18)
    /// `name` (OID 19).
    public static let name = Self(oid: 19)
    /// `int8` (OID 20).
    public static let int8 = Self(oid: 20)
    /// `int2` (OID 21).
    public static let int2 = Self(oid: 21)
    /// `int4` (OID 23).
    public static let int4 = Self(oid: 23)
    /// `text` (OID 25).
    public static let text = Self(oid: 25)
    /// `oid` (OID 26).
    public static let oidType = Self(oid: 26)
    /// `json` (OID 114).
    public static let json = Self(oid: 114)
    /// `float4` (OID 700).
    public static let float4 = Self(oid: 700)
    /// `float8` (OID 701).
    public static let float8 = Self(oid: 701)
    /// `unknown` (OID 705).
    public static let unknown = Self(oid: 705)
    /// `bpchar` (OID 1042).
    public static let bpchar = Self(oid: 1042)
    /// `varchar` (OID 1043).
    public static let varchar = Self(oid: 1043)
    /// `timestamp` (OID 1114).
    public static let timestamp = Self(oid: 1114)
    /// `timestamptz` (OID 1184).
    public static let timestamptz = Self(oid: 1184)
    /// `numeric` (OID 1700).
    public static let numeric = Self(oid: 1700)
    /// `uuid` (OID 2950).
    public static let uuid = Self(oid: 2950)
    /// `jsonb` (OID 3802).
    public static let jsonb = Self(oid: 3802)
    /// `xid8` (OID 5069).
    public static let xid8 = Self(oid: 5069)
    /// `void` (OID 2278).
    public static let void = Self(oid: 2278)

    /// `bool[]` (OID 1000).
    public static let boolArray = Self(oid: 1000)
    /// `bytea[]` (OID 1001).
    public static let byteaArray = Self(oid: 1001)
    /// `int2[]` (OID 1005).
    public static let int2Array = Self(oid: 1005)
    /// `int4[]` (OID 1007).
    public static let int4Array = Self(oid: 1007)
    /// `text[]` (OID 1009).
    public static let textArray = Self(oid: 1009)
    /// `varchar[]` (OID 1015).
    public static let varcharArray = Self(oid: 1015)
    /// `int8[]` (OID 1016).
    public static let int8Array = Self(oid: 1016)
    /// `float8[]` (OID 1022).
    public static let float8Array = Self(oid: 1022)
    /// `json[]` (OID 199).
    public static let jsonArray = Self(oid: 199)
    /// `timestamptz[]` (OID 1185).
    public static let timestamptzArray = Self(oid: 1185)
    /// `uuid[]` (OID 2951).
    public static let uuidArray = Self(oid: 2951)
    /// `jsonb[]` (OID 3807).
    public static let jsonbArray = Self(oid: 3807)
    /// `xid8[]` (OID 271).
    public static let xid8Array = Self(oid: 271)

    private static let names: [UInt32: String] = [
        16: "bool", 17: "bytea", 18: "char", 19: "name", 20: "int8", 21: "int2", 23: "int4", 25: "text",
        26: "oid", 114: "json", 700: "float4", 701: "float8", 705: "unknown", 1042: "bpchar",
        1043: "varchar", 1114: "timestamp", 1184: "timestamptz", 1700: "numeric", 2950: "uuid",
        3802: "jsonb", 5069: "xid8", 2278: "void", 1000: "bool[]", 1001: "bytea[]", 1005: "int2[]",
        1007: "int4[]", 1009: "text[]", 1015: "varchar[]", 1016: "int8[]", 1022: "float8[]", 199: "json[]",
        1185: "timestamptz[]", 2951: "uuid[]", 3807: "jsonb[]", 271: "xid8[]",
    ]

    public var description: String { Self.names[oid] ?? "oid \(oid)" }

    /// Text-like types whose binary form is plain UTF-8.
    /// Whether this is one of the scalar (non-array) types the driver knows.
    package var isKnownScalar: Bool {
        [
            Self.bool, .bytea, .char, .name, .int8, .int2, .int4, .text, .oidType, .json, .float4, .float8, .unknown,
            .bpchar, .varchar, .timestamp, .timestamptz, .numeric, .uuid, .jsonb, .xid8, .void,
        ].contains(self)
    }

    package var isTextLike: Bool { [Self.text, .varchar, .name, .bpchar, .unknown, .char].contains(self) }
}
