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
    guard password.unicodeScalars.count >= 3, !password.contains(where: { $0.isWhitespace || $0 == "'" || $0 == "\\" })
    else {
        // Still nothing may trap on arbitrary text.
        _ = PostgresConfiguration(url: password).description
        return 0
    }
    let encoded = password.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? password
    for configuration in [
        PostgresConfiguration(url: "postgresql://mire:\(encoded)@db.example:5432/app?sslmode=disable"),
        PostgresConfiguration(url: "host=db.example user=mire password=\(password) dbname=app"),
        PostgresConfiguration(url: "host=db.example user=mire password='\(password)' dbname=app"),
    ] {
        precondition(!configuration.description.containsScalars(password), "the description shows the password")
        let leaked = message + " password=\(password) " + message
        precondition(!configuration.redacted(leaked).containsScalars(password), "a message keeps the password")
    }
    return 0
}
