public import Hummingbird
import Logging
import MireBankDomain
import MireCore
import MirePQ

/// Turns what the bank and the store throw into HTTP answers whose body says what went wrong and
/// what to do (`{"error": {"message": …}}`), never a password: the driver redacts its messages.
///
/// | Thrown | Status |
/// | --- | --- |
/// | `BankError.notFound` | `404` |
/// | `BankError.alreadyExists`, a conflict that outlived its retries, a lock timeout | `409` |
/// | any other `BankError` (insufficient funds, closed account, bad amount) | `422` |
/// | an invalid stream id | `400` |
/// | the database unreachable or lost, an unknown commit outcome | `503` |
/// | anything else | `500` |
///
/// ```swift
/// router.middlewares.add(BankErrorMiddleware<BasicRequestContext>())
/// ```
public struct BankErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw error
        } catch {
            let answer = Self.httpError(for: error)
            if answer.status.kind == .serverError {
                context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            }
            throw answer
        }
    }

    /// The answer for `error`.
    public static func httpError(for error: any Error) -> HTTPError {
        switch error {
        case let error as BankError:
            let status: HTTPResponse.Status =
                switch error {
                case .notFound: .notFound
                case .alreadyExists: .conflict
                default: .unprocessableContent
                }
            return HTTPError(status, message: error.description)
        case let error as MireError:
            if let database = error.underlying as? PGError, database.isUnavailable {
                return HTTPError(.serviceUnavailable, message: "the database is unavailable; try again shortly")
            }
            let status: HTTPResponse.Status =
                switch error.code {
                case .concurrencyConflict, .lockTimeout: .conflict
                case .invalidStreamID: .badRequest
                case .commitOutcomeUnknown: .serviceUnavailable
                default: .internalServerError
                }
            return HTTPError(status, message: "\(error)")
        case let error as PGError where error.isUnavailable:
            return HTTPError(.serviceUnavailable, message: "the database is unavailable; try again shortly")
        default:
            return HTTPError(.internalServerError, message: "the request failed; see the server's log")
        }
    }
}

extension PGError {
    /// The database could not be reached or was lost: not the request's fault.
    fileprivate var isUnavailable: Bool {
        code == .connectionFailed || code == .connectionLost || code == .poolClosed
    }
}
