import Foundation
import MireCore
import MirePQ
import MireTestSupport
import Testing

@testable import MirePostgres

/// The load statement sends a snapshot's bytes only when the load can use them.
@Suite("Load statement")
struct LoadStatementTests {
    @Test func aSnapshotLargerThanTheLimitIsNotSentEvenWhenItsRecordedSizeIsSmall() async throws {
        try await TestDatabase.withStore { store throws in
            var account = try await store.loadOrDefault(Account.self, id: "bloated")
            account.open(owner: "x")
            try await store.save(&account)
            try await store.pool.withConnection { connection throws in
                // Another tool wrote 2 MB of state and recorded 10 bytes.
                try await connection.query(
                    """
                    INSERT INTO mire_snapshots (stream_id, stream_version, schema_version, encoding, uncompressed_size, state)
                    VALUES ('account-bloated', 1, 1, 'json', 10, convert_to(repeat(' ', 2 << 20) || '{}', 'UTF8'))
                    """)
            }
            func head(maximumSize: Int) async throws -> (usable: Bool, bytes: Int?) {
                try await store.pool.withConnection { connection in
                    let rows = try await connection.query(
                        LoadStatement.page(
                            stream: account.id, after: 0, upTo: nil, limit: 10,
                            snapshot: (schema: 1, maximumSize: maximumSize)))
                    let row = try #require(rows.first)
                    return (try row.decode(Bool.self, at: 11), try row.decode(Data?.self, at: 5)?.count)
                }
            }
            let refused = try await head(maximumSize: 1 << 20)
            #expect(!refused.usable)
            #expect(refused.bytes == nil)
            let allowed = try await head(maximumSize: 4 << 20)
            #expect(allowed.usable)
            #expect(allowed.bytes == (2 << 20) + 2)
            // Another schema: not usable, not sent.
            let otherSchema = try await store.pool.withConnection { connection in
                try await connection.query(
                    LoadStatement.page(
                        stream: account.id, after: 0, upTo: nil, limit: 10, snapshot: (schema: 2, maximumSize: 4 << 20))
                ).first?.decode(Data?.self, at: 5)
            }
            #expect(otherSchema == nil)
        }
    }
}
