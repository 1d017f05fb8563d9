import Logging

/// What the docs call `context` in a request handler (Hummingbird's `RequestContext` has a
/// `logger` too): enough for the blocks that pass a request's logger to Mire.
struct RequestContext {
    var logger: Logger
}
