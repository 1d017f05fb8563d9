import Foundation
import MirePQ
public import MirePostgres

/// The Mire side: the same work through `PGConnection`.
public struct MireWorkloads: Sendable {
    public let connection: PGConnection

    public init(connection: PGConnection) { self.connection = connection }

    public func selectOne() async throws {
        try await connection.query("SELECT 1")
    }

    public func insertOneByOne(_ count: Int) async throws {
        for index in 0..<count {
            try await connection.query("INSERT INTO bench_rows (v) VALUES (\(Int64(index)))", prepared: true)
        }
    }

    public func insertPipelined(_ count: Int) async throws {
        try await connection.pipeline((0..<count).map { "INSERT INTO bench_rows (v) VALUES (\(Int64($0)))" })
    }

    public func insertArray(_ count: Int) async throws {
        let values = (0..<count).map { Int64($0) }
        try await connection.query("INSERT INTO bench_rows (v) SELECT unnest(\(values)::int8[])")
    }

    /// Creates (or empties) the table the insert workloads write to.
    public func resetTable() async throws {
        try await connection.executeScript("CREATE TABLE IF NOT EXISTS bench_rows (v int8); TRUNCATE bench_rows;")
    }
}
