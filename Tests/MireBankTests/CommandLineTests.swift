import Foundation
import MirePQ
import MirePostgres
import MireTestSupport
import Testing

@testable import MireBankCLI
@testable import MireBankDomain

/// The command line's conventions: global options anywhere, exit codes by kind of failure,
/// errors that say why (never a password), JSON errors under `--json`.
@Suite("Command line")
struct CommandLineTests {
    @Test func globalOptionsBeforeTheSubcommandMoveAfterIt() {
        #expect(
            GlobalOptionHoisting.hoisted(["--database", "u", "balance", "a1"]) == ["balance", "a1", "--database", "u"])
        #expect(
            GlobalOptionHoisting.hoisted(["--json", "--log-level=debug", "db", "status"]) == [
                "db", "status", "--json", "--log-level=debug",
            ])
        #expect(GlobalOptionHoisting.hoisted(["balance", "a1", "--json"]) == ["balance", "a1", "--json"])
        #expect(
            GlobalOptionHoisting.hoisted(["--json", "deposit", "a1", "--", "-5"]) == [
                "deposit", "a1", "--json", "--", "-5",
            ])
        #expect(GlobalOptionHoisting.hoisted(["--database"]) == ["--database"])  // left for the parser to refuse
    }

    @Test func failuresMapToTheirExitCodes() {
        #expect(ExitStatus.code(for: BankError.invalidOwner) == ExitStatus.refused)
        #expect(ExitStatus.code(for: MireError(code: .concurrencyConflict, message: "x")) == ExitStatus.refused)
        #expect(
            ExitStatus.code(for: PGError(code: .connectionFailed, message: "refused"))
                == ExitStatus.databaseUnavailable)
        let wrapped = MireError(
            code: .database, message: "loading", underlying: PGError(code: .connectionLost, message: "gone"))
        #expect(ExitStatus.code(for: wrapped) == ExitStatus.databaseUnavailable)
        #expect(
            ExitStatus.code(for: MireError(code: .localServer, message: "no initdb")) == ExitStatus.databaseUnavailable)
        #expect(ExitStatus.code(for: CocoaError(.fileNoSuchFile)) == .failure)
    }

    /// The built `mire-bank`, in the build directory that holds the test runner.
    static var executable: URL {
        URL(filePath: CommandLine.arguments[0]).deletingLastPathComponent().appending(path: "mire-bank")
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    @Test func anUnreachableDatabaseSaysWhyWithoutThePasswordAndExits69() throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.executable.path), "\(Self.executable.path)")
        let url = "postgresql://bank:hunter2secret@127.0.0.1:1/bank?connect_timeout=2"
        let result = try Self.run(["--database", url, "balance", "a1"])
        #expect(result.status == 69)
        #expect(result.error.contains("could not connect to the database"), "\(result.error)")
        #expect(result.error.contains("127.0.0.1"), "\(result.error)")
        #expect(!result.error.contains("hunter2secret"))
        #expect(!result.error.contains("debugDescription"))

        let json = try Self.run(["--json", "--database", url, "balance", "a1"])
        #expect(json.status == 69)
        let report = try JSONSerialization.jsonObject(with: Data(json.error.utf8)) as? [String: Any]
        let failure = report?["error"] as? [String: Any]
        #expect(failure?["exitCode"] as? Int == 69)
        #expect((failure?["message"] as? String)?.contains("could not connect") == true)
    }

    /// Command-line mistakes (an unknown option, a malformed amount) are reported as JSON under
    /// `--json` too, with exit code 64, and as ArgumentParser's text without it.
    @Test func commandLineMistakesAreJSONUnderTheJSONFlag() throws {
        for arguments in [["--json", "balance", "a1", "--bogus"], ["deposit", "a1", "-5", "--json"]] {
            let result = try Self.run(arguments)
            #expect(result.status == 64, "\(arguments): \(result.error)")
            let report = try JSONSerialization.jsonObject(with: Data(result.error.utf8)) as? [String: Any]
            let failure = try #require(report?["error"] as? [String: Any], "\(arguments): \(result.error)")
            #expect(failure["exitCode"] as? Int == 64)
            #expect((failure["message"] as? String)?.isEmpty == false)
        }
        let plain = try Self.run(["deposit", "a1", "-5"])
        #expect(plain.status == 64)
        #expect(plain.error.contains("amount"), "\(plain.error)")
        #expect(!plain.error.hasPrefix("{"))
    }

    @Test func aRefusedCommandExits65() async throws {
        let configuration = try await TestDatabase.configuration()
        var url = configuration.connectionString
        if url.isEmpty, let host = configuration.keywords["host"], let port = configuration.keywords["port"],
            let user = configuration.keywords["user"], let database = configuration.keywords["dbname"]
        {
            url = "postgresql://\(user)@\(host):\(port)/\(database)"
        }
        let result = try Self.run(["--database", url, "withdraw", "nobody-\(UUID().uuidString.prefix(6))", "5"])
        #expect(result.status == 65, "\(result.error)")
        #expect(result.error.contains("nobody"), "\(result.error)")
    }
}
