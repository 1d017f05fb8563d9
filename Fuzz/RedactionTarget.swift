// libFuzzer target: connection strings and libpq's messages. The input is split at its first
// 0x00 into a password and a message; the password goes into a URL and a keyword/value
// connection string. A configuration's description, and any message redacted by it, must not
// contain the password, compared scalar by scalar (passwords of 3 or more scalars: shorter ones
// would blank out ordinary words), and nothing may trap. Built by Fuzz/run.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func test(_ data: UnsafeRawPointer, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let zero = input.firstIndex(of: 0) ?? size
    let password = String(decoding: UnsafeRawBufferPointer(rebasing: input[..<zero]), as: UTF8.self)
    let rest =
        zero < size
        ? UnsafeRawBufferPointer(rebasing: input[(zero + 1)...]) : UnsafeRawBufferPointer(start: nil, count: 0)
    let message = String(decoding: rest, as: UTF8.self)
    // Passwords a connection string can hold unescaped: no quote, backslash or whitespace
    // scalar (checked by scalar: a quote followed by a combining mark is still a quote).
    guard password.unicodeScalars.count >= 3,
        !password.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0 == "'" || $0 == "\\" })
    else {
        // Still nothing may trap on arbitrary text.
        _ = PGConfiguration(url: password).description
        return 0
    }
    let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
    let placeholder = "PLACEHOLDER"
    let templates: [(String) -> String] = [
        { "postgresql://mire:\($0)@db.example:5432/app?sslmode=disable" },
        { "host=db.example user=mire password=\($0) dbname=app" },
        { "host=db.example user=mire password = '\($0)' dbname=app" },
        { "postgresql://db.example/app?user=mire&password=\($0)&sslmode=disable" },
        { "postgresql://db.example/app?pass%77ord=\($0)" },  // libpq decodes query keys too
    ]
    for (index, template) in templates.enumerated() {
        let configuration = PGConfiguration(url: template(index == 0 || index >= 3 ? encoded : password))
        let leaked = message + " password=\(password) " + message
        // Text Mire adds itself (the type's name, "***", the other keywords) may contain the
        // password by chance: compare with the same configuration holding a placeholder.
        let baseline = PGConfiguration(url: template(placeholder))
        if !baseline.description.containsScalars(password) {
            precondition(!configuration.description.containsScalars(password), "the description shows the password")
        }
        let baselineMessage = baseline.redacted(message + " password=\(placeholder) " + message)
        if !baselineMessage.containsScalars(password) {
            precondition(!configuration.redacted(leaked).containsScalars(password), "a message keeps the password")
        }
    }
    return 0
}
