import MireLocalServer
import MirePQ

/// A throwaway primary and its synchronous standby `s1`, both running, for `body`; both stopped
/// afterwards (whatever `body` stopped or promoted meanwhile).
///
/// ```swift
/// try await withSynchronousPair { primary, standby in … }
/// ```
func withSynchronousPair(
    _ body: (
        _ primary: (server: LocalPostgresServer, configuration: PGConfiguration),
        _ standby: (server: LocalPostgresServer, configuration: PGConfiguration)
    ) async throws -> Void
) async throws {
    let primary = try LocalPostgresServer.throwaway(settings: ["synchronous_commit": "on"])
    let primaryConfiguration = try await primary.start()
    defer { try? primary.stop() }
    let standby = try await LocalPostgresServer.standby(of: primary, name: "s1")
    let standbyConfiguration = try await standby.start()
    defer { try? standby.stop() }
    try await primary.requireSynchronousStandby(["s1"])
    try await body((primary, primaryConfiguration), (standby, standbyConfiguration))
}
