import Foundation

/// How to reach a PostgreSQL server: a URL or libpq keywords, plus the settings Mire adds.
///
/// ```swift
/// var config = PGConfiguration(url: "postgresql://app@127.0.0.1:5432/bank")
/// config.applicationName = "bank-api"
/// config.searchPath = ["tenant_a"]
/// ```
///
/// Values are handed to `PQconnectdbParams` as separate keywords, so nothing needs escaping.
public struct PGConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// A `postgresql://` URL or a `key=value` conninfo string; empty means libpq's defaults
    /// (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, …).
    public var connectionString: String
    /// Extra libpq keywords (`host`, `port`, `user`, `password`, `dbname`, `sslmode`, …).
    /// They override what `connectionString` says.
    public var keywords: [String: String]
    /// Shown in `pg_stat_activity.application_name`.
    public var applicationName: String
    /// Seconds libpq waits for a connection to open before failing.
    public var connectTimeoutSeconds: Int
    /// Schemas to put first on the connection's `search_path`, if any.
    public var searchPath: [String]
    /// TCP keepalive probes: a server host that stops answering (crashed, partitioned) fails the
    /// connection instead of leaving a statement waiting for ever. nil leaves libpq's default.
    public var keepalive: Keepalive? = Keepalive()
    /// How long data sent may stay unacknowledged by the server host before the connection fails
    /// (`tcp_user_timeout`); nil leaves the system's default (many minutes).
    public var tcpUserTimeout: Duration? = .seconds(30)

    /// TCP keepalive settings (`keepalives_idle`, `keepalives_interval`, `keepalives_count`).
    ///
    /// ```swift
    /// config.keepalive = .init(idle: .seconds(10), interval: .seconds(5), count: 3)
    /// ```
    public struct Keepalive: Sendable, Hashable {
        /// Silence before the first probe.
        public var idle: Duration
        /// Time between probes.
        public var interval: Duration
        /// Unanswered probes before the connection is declared dead.
        public var count: Int

        /// By default a dead peer is found within about a minute: 30 s idle, then 3 probes 10 s apart.
        public init(idle: Duration = .seconds(30), interval: Duration = .seconds(10), count: Int = 3) {
            self.idle = idle
            self.interval = interval
            self.count = count
        }
    }

    /// A configuration from a URL or conninfo string.
    ///
    /// ```swift
    /// let config = PGConfiguration(url: "postgresql://postgres@127.0.0.1:5432/postgres")
    /// ```
    public init(url: String, applicationName: String = "mire") {
        self.connectionString = url
        self.keywords = [:]
        self.applicationName = applicationName
        self.connectTimeoutSeconds = 10
        self.searchPath = []
    }

    /// A configuration from separate values.
    ///
    /// ```swift
    /// let config = PGConfiguration(host: "127.0.0.1", port: 5432, user: "postgres", database: "bank")
    /// ```
    public init(
        host: String,
        port: Int = 5432,
        user: String,
        password: String? = nil,
        database: String,
        applicationName: String = "mire"
    ) {
        var keywords = ["host": host, "port": String(port), "user": user, "dbname": database]
        if let password { keywords["password"] = password }
        self.connectionString = ""
        self.keywords = keywords
        self.applicationName = applicationName
        self.connectTimeoutSeconds = 10
        self.searchPath = []
    }

    /// Keyword/value pairs for `PQconnectdbParams` (with `expand_dbname` on, so the first
    /// `dbname` entry may be a whole URL or conninfo string).
    var libpqParameters: [(String, String)] {
        var result: [(String, String)] = []
        if !connectionString.isEmpty { result.append(("dbname", connectionString)) }
        for (key, value) in keywords.sorted(by: { $0.key < $1.key }) { result.append((key, value)) }
        result.append(("application_name", applicationName))
        result.append(("connect_timeout", String(connectTimeoutSeconds)))
        if let keepalive {
            result.append(("keepalives", "1"))
            result.append(("keepalives_idle", String(max(1, keepalive.idle.components.seconds))))
            result.append(("keepalives_interval", String(max(1, keepalive.interval.components.seconds))))
            result.append(("keepalives_count", String(max(1, keepalive.count))))
        }
        if let tcpUserTimeout { result.append(("tcp_user_timeout", String(tcpUserTimeout.timeoutMilliseconds))) }
        if !searchPath.isEmpty {
            let path = searchPath.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
            // `options` is split on spaces by the server; a backslash escapes one.
            let value = path.joined(separator: ",").replacingOccurrences(of: " ", with: "\\ ")
            result.append(("options", "-c search_path=\(value)"))
        }
        return result
    }

    /// Refuses a URL that libpq would misread in a way that exposes a secret: an unencoded `@`
    /// in the user info makes libpq take the rest of the password for the host name, which its
    /// error messages then quote.
    func validate() throws(PGError) {
        guard let schemeEnd = connectionString.range(of: "://") else { return }
        let rest = connectionString[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "?" }
        if authority.filter({ $0 == "@" }).count > 1 {
            throw PGError(
                code: .connectionFailed,
                message: "the connection URL holds more than one '@' before the host; "
                    + "percent-encode '@' in a user name or password as %40"
            )
        }
    }

    /// The secrets this configuration holds: passwords, in the forms libpq may echo back. The
    /// connection string is read scalar by scalar (a combining mark after ':', '@' or '=' must
    /// not hide a password), the way libpq reads it. Secrets shorter than three scalars are not
    /// searched for in messages (every "a" of a message would go); the description hides them
    /// by position instead.
    private var secrets: [String] {
        var found: Set<String> = []
        for key in ["password", "sslpassword"] {
            if let password = keywords[key], !password.isEmpty { found.insert(password) }
        }
        if let password = Self.urlPassword(in: connectionString) {
            found.insert(password)
            found.formUnion(password.split(separator: "@").map(String.init))
            if let decoded = password.removingPercentEncoding { found.insert(decoded) }
        }
        found.formUnion(Self.passwordValues(in: connectionString))
        found.formUnion(Self.urlQueryPasswords(in: connectionString))
        return found.filter { $0.unicodeScalars.count >= 3 }.sorted {
            $0.unicodeScalars.count > $1.unicodeScalars.count
        }
    }

    /// Where a URL's password sits, as libpq finds it: the user info runs from `://` to the
    /// first '@' (unless a '/' comes first), and the password follows its first ':'.
    private static func urlPasswordRange(in scalars: [Unicode.Scalar]) -> Range<Int>? {
        let scheme = Array("://".unicodeScalars)
        guard scalars.count >= scheme.count,
            let schemeStart = (0...(scalars.count - scheme.count)).first(where: {
                scalars[$0..<($0 + scheme.count)].elementsEqual(scheme)
            })
        else { return nil }
        let authorityStart = schemeStart + scheme.count
        guard let end = scalars[authorityStart...].firstIndex(where: { $0 == "@" || $0 == "/" }),
            scalars[end] == "@", let colon = scalars[authorityStart..<end].firstIndex(of: ":")
        else { return nil }
        return (colon + 1)..<end
    }

    private static func urlPassword(in text: String) -> String? {
        let scalars = Array(text.unicodeScalars)
        return urlPasswordRange(in: scalars).map { String(String.UnicodeScalarView(scalars[$0])) }
    }

    /// Where the `password` and `sslpassword` values of a URL's query sit. libpq percent-decodes
    /// keys too, so `?pass%77ord=x` sets the password.
    private static func urlQueryPasswordRanges(in scalars: [Unicode.Scalar]) -> [Range<Int>] {
        guard scalars.count >= 3,
            (0...(scalars.count - 3)).contains(where: { scalars[$0..<($0 + 3)].elementsEqual("://".unicodeScalars) }),
            let query = scalars.firstIndex(of: "?")
        else { return [] }
        var ranges: [Range<Int>] = []
        var start = query + 1
        while start <= scalars.count {
            let end = scalars[start...].firstIndex(of: "&") ?? scalars.count
            if let equals = scalars[start..<end].firstIndex(of: "=") {
                let written = String(String.UnicodeScalarView(scalars[start..<equals]))
                let key = written.removingPercentEncoding ?? written
                if key == "password" || key == "sslpassword" { ranges.append((equals + 1)..<end) }
            }
            start = end + 1
        }
        return ranges
    }

    /// The `password` and `sslpassword` values of a URL's query, as written and decoded.
    private static func urlQueryPasswords(in text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        return urlQueryPasswordRanges(in: scalars).flatMap { range in
            let value = String(String.UnicodeScalarView(scalars[range]))
            return [value] + (value.removingPercentEncoding.map { [$0] } ?? [])
        }
    }

    /// The blanks libpq's conninfo parser skips: ASCII whitespace only.
    private static func isBlank(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" || scalar == "\u{0B}" || scalar == "\u{0C}"
    }

    /// The values given to `password` (and `sslpassword`) in a conninfo string — blanks around
    /// '=' allowed, quoted or not, backslash escapes resolved — or in a URL's query, each as
    /// libpq reads it and as written. One pass: the search resumes after each value.
    private static func passwordValues(in text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        let key = Array("password".unicodeScalars)
        var values: [String] = []
        var index = 0
        while scalars.count - index >= key.count {
            guard scalars[index..<(index + key.count)].elementsEqual(key) else {
                index += 1
                continue
            }
            var cursor = index + key.count
            while cursor < scalars.count, isBlank(scalars[cursor]) { cursor += 1 }
            guard cursor < scalars.count, scalars[cursor] == "=" else {
                index += key.count
                continue
            }
            cursor += 1
            while cursor < scalars.count, isBlank(scalars[cursor]) { cursor += 1 }
            var read = String.UnicodeScalarView()
            var written = String.UnicodeScalarView()
            let quoted = cursor < scalars.count && scalars[cursor] == "'"
            if quoted { cursor += 1 }
            var escaped = false
            while cursor < scalars.count {
                let scalar = scalars[cursor]
                if !escaped && (quoted ? scalar == "'" : isBlank(scalar)) {
                    if quoted { cursor += 1 }
                    break
                }
                cursor += 1
                written.append(scalar)
                if escaped || scalar != "\\" {
                    read.append(scalar)
                    escaped = false
                } else {
                    escaped = true
                }
            }
            // In a URL's query the value also stops at '&'.
            let query = String.UnicodeScalarView(written.prefix { $0 != "&" })
            for form in [String(read), String(written), String(query)] {
                values.append(form)
                if let decoded = form.removingPercentEncoding { values.append(decoded) }
            }
            index = max(cursor, index + key.count)
        }
        return values
    }

    /// `text` with every secret of this configuration replaced by `***`: libpq builds some of its
    /// messages from the connection string.
    func redacted(_ text: String) -> String {
        var result = text
        for secret in secrets { result = result.replacingScalars(of: secret, with: "***") }
        return result
    }

    /// The configuration without any password, safe to log.
    public var description: String {
        var shown = redacted(connectionString)
        for value in Set(Self.passwordValues(in: connectionString)) where !value.isEmpty {
            shown = shown.replacingScalars(of: "password='\(value)'", with: "password=***")
                .replacingScalars(of: "password=\(value)", with: "password=***")
        }
        var scalars = Array(shown.unicodeScalars)
        // Back to front, so earlier ranges stay where they were found.
        for value in Self.urlQueryPasswordRanges(in: scalars).reversed() {
            scalars.replaceSubrange(value, with: "***".unicodeScalars)
        }
        if let password = Self.urlPasswordRange(in: scalars) {
            scalars.replaceSubrange(password, with: "***".unicodeScalars)
        }
        shown = String(String.UnicodeScalarView(scalars))
        let keys = keywords.sorted { $0.key < $1.key }.map {
            $0.key == "password" || $0.key == "sslpassword" ? "\($0.key)=***" : "\($0.key)=\($0.value)"
        }
        return "PGConfiguration(\(([shown] + keys).filter { !$0.isEmpty }.joined(separator: " ")))"
    }
}
