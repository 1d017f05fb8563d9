import MireBankDomain

/// `mire-bank --database URL balance a1` means `mire-bank balance a1 --database URL`: the global
/// options (`--database`, `--log-level`, `--json`) given before the subcommand are moved after
/// it, where each subcommand reads them.
///
/// ```swift
/// GlobalOptionHoisting.hoisted(["--json", "balance", "a1"])   // ["balance", "a1", "--json"]
/// ```
enum GlobalOptionHoisting {
    /// Global options that take a value, and those that do not.
    static let valued: Set<String> = ["--database", "--log-level"]
    static let flags: Set<String> = ["--json"]

    /// `arguments` (without the program name) with the global options that come before the
    /// first subcommand name moved to the end (before a `--` terminator, if any).
    static func hoisted(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            if flags.contains(argument) || (valued.contains(name) && argument.contains("=")) {
                leading.append(argument)
                index += 1
            } else if valued.contains(argument), index + 1 < arguments.endIndex {
                leading.append(contentsOf: arguments[index...(index + 1)])
                index += 2
            } else {
                break
            }
        }
        guard !leading.isEmpty else { return arguments }
        var rest = Array(arguments[index...])
        let end = rest.firstIndex(of: "--") ?? rest.endIndex
        rest.insert(contentsOf: leading, at: end)
        return rest
    }
}
