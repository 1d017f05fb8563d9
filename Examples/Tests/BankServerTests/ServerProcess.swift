import Foundation
import Synchronization
import Testing

/// `mire-bank-server` as a child process: started with an environment, read from its standard
/// output for the port it bound, stopped with SIGTERM like a process manager does.
final class ServerProcess: Sendable {
    private let process: Process
    private let output = TextBuffer()
    private let errors = TextBuffer()
    private let exit: AsyncStream<Int32>
    private let exitContinuation: AsyncStream<Int32>.Continuation

    /// The built executable, in the build directory that holds the test runner.
    static var executable: URL {
        URL(filePath: CommandLine.arguments[0]).deletingLastPathComponent().appending(path: "mire-bank-server")
    }

    init(environment: [String: String]) throws {
        process = Process()
        process.executableURL = Self.executable
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        (exit, exitContinuation) = AsyncStream.makeStream(of: Int32.self)
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        stdout.fileHandleForReading.readabilityHandler = { [output] handle in
            let data = handle.availableData
            output.append(data)
        }
        stderr.fileHandleForReading.readabilityHandler = { [errors] handle in
            let data = handle.availableData
            errors.append(data)
        }
        process.terminationHandler = { [exitContinuation] process in
            // A signal's death is reported as 128 + signal, as a shell does.
            let status =
                process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
            exitContinuation.yield(status)
            exitContinuation.finish()
        }
        try process.run()
    }

    var standardError: String { errors.text }

    /// The URL the server printed once it listened; fails when it exits first or takes a minute.
    func baseURL() async throws -> URL {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let text = output.text
            if let line = text.split(separator: "\n").first(where: { $0.contains("listening on ") }),
                let address = line.split(separator: " ").last, let url = URL(string: String(address))
            {
                return url
            }
            guard process.isRunning else {
                throw ServerFailure(message: "mire-bank-server exited before listening:\n\(standardError)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw ServerFailure(message: "mire-bank-server did not listen within a minute:\n\(standardError)")
    }

    /// Sends SIGTERM and returns the exit status; SIGKILLs after `grace` and reports it.
    func terminate(grace: Duration = .seconds(30)) async throws -> Int32 {
        process.terminate()
        return try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask { [exit] in
                for await status in exit { return status }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: grace)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            guard let status = first else {
                kill(process.processIdentifier, SIGKILL)
                throw ServerFailure(
                    message: "mire-bank-server did not stop within \(grace) of SIGTERM:\n\(standardError)")
            }
            return status
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

struct ServerFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// What a child wrote so far, appended from a pipe's handler thread.
final class TextBuffer: Sendable {
    private let buffer = Mutex("")

    func append(_ data: Data) { buffer.withLock { $0 += String(decoding: data, as: UTF8.self) } }

    var text: String { buffer.withLock { $0 } }
}
