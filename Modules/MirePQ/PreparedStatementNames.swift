/// A connection's server-side prepared statements: SQL text → statement name.
///
/// The last statement looked up is compared before the table is hashed. A hot statement is the
/// same `String` every time (a static), so that comparison ends at the identical storage, where
/// hashing its text — a kilobyte for the append statement — cost more than the rest of a look-up.
///
/// ```swift
/// var names = PreparedStatementNames()
/// names.insert("mire_1", for: sql)
/// names.name(for: sql)  // "mire_1"
/// ```
struct PreparedStatementNames {
    private var names: [String: String] = [:]
    private var last: (sql: String, name: String)?

    /// How many statements are prepared.
    var count: Int { names.count }

    /// The name `sql` was prepared under, if it was.
    mutating func name(for sql: String) -> String? {
        if let last, last.sql == sql { return last.name }
        guard let name = names[sql] else { return nil }
        last = (sql, name)
        return name
    }

    /// Records that `sql` is prepared as `name`.
    mutating func insert(_ name: String, for sql: String) {
        names[sql] = name
        last = (sql, name)
    }

    /// Forgets every statement (the session that held them is gone).
    mutating func removeAll() {
        names = [:]
        last = nil
    }
}
