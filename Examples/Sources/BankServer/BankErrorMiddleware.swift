public import Hummingbird
import Logging
import MireBankDomain
import MireCore
import MirePQ

/// Turns what the bank and the store throw into HTTP answers whose body says what went wrong and
/// what to do (`{"error": {"message": …}}`). A server error's body is generic; its details (which
/// may name tables or carry the server's message) go to the log.
///
/// | Thrown | Status |
/// | --- | --- |
/// | `BankError.notFound` | `404` |
/// | `BankError.alreadyExists`, a conflict that outlived its retries | `409` |
/// | any other `BankError` (insufficient funds, closed account, bad amount) | `422` |
/// | an invalid stream id | `400` |
/// | the database unreachable or lost, a lock wait that timed out | `503` with `Retry-After` |
/// | an unknown commit outcome | `500`: it may have been applied; look before retrying |
/// | anything else | `500` |
///
/// ```swift
/// let routes = RouteCollection(context: BasicRequestContext.self).add(middleware: BankErrorMiddleware())
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
            switch error {
            case .notFound(let account):
                return HTTPError(
                    .notFound, message: "account \(account) does not exist; open it first (POST /accounts)")
            case .alreadyExists: return HTTPError(.conflict, message: error.description)
            default: return HTTPError(.unprocessableContent, message: error.description)
            }
        case let error as MireError:
            if let database = error.underlying as? PGError, database.isUnavailable { return unavailable }
            switch error.code {
            case .concurrencyConflict: return HTTPError(.conflict, message: "\(error)")
            case .invalidStreamID: return HTTPError(.badRequest, message: error.message)
            case .lockTimeout: return unavailable
            case .commitOutcomeUnknown:
                return HTTPError(
                    .internalServerError,
                    message:
                        "the database did not confirm the change, which may have been applied; look at the account before retrying"
                )
            default: return internalError
            }
        case let error as PGError where error.isUnavailable: return unavailable
        default: return internalError
        }
    }

    private static var unavailable: HTTPError {
        HTTPError(
            .serviceUnavailable, headers: [.retryAfter: "1"],
            message: "the database is busy or unavailable; retry shortly")
    }

    private static var internalError: HTTPError {
        HTTPError(.internalServerError, message: "the request failed; the server's log says why")
    }
}

extension PGError {
    /// The database could not be reached or was lost: not the request's fault.
    fileprivate var isUnavailable: Bool {
        code == .connectionFailed || code == .connectionLost || code == .poolClosed
    }
}
