import MirePQ
import MirePostgres
import MireTestSupport
import MireTesting
import Testing

@Suite("Throwaway PostgreSQL")
struct ThrowawayPostgresTests {
    @Test(.timeLimit(.minutes(2))) func aServerOfItsOwnIsStartedMigratedAndStoppedAfterwards() async throws {
        let configuration = try await ThrowawayPostgres.withStore(logger: TestDatabase.logger) { store in
            let stream = try StreamID(category: "t", id: "1")
            try await store.append(
                [NewEvent(type: "t.noted", payload: .init("{}".utf8))], to: stream, expecting: .noStream)
            #expect(try await store.readStream(stream).count == 1)
            return store.pool.configuration
        }
        // The server is gone with the scope.
        await #expect(throws: PGError.self) {
            let connection = try await PGConnection.connect(
                configuration: configuration, logger: TestDatabase.logger)
            await connection.close()
        }
    }
}
