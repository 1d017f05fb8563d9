/// One step of a coding path: a key of an object, or an index into an array.
///
/// Indexes stay integers until a path is read (an error, `codingPath`): formatting "Index 3" for
/// every array element would cost more than decoding most of them.
enum JSONPathComponent {
    case key(any CodingKey)
    case index(Int)

    var codingKey: any CodingKey {
        switch self {
        case .key(let key): key
        case .index(let index): JSONCodingKey(index: index)
        }
    }
}

/// A coding path as a linked list shared by nested containers: a container holds its own node,
/// and a nested value's path is its container's node plus one component, built only when needed.
final class JSONCodingPath {
    let parent: JSONCodingPath?
    let component: JSONPathComponent

    init(parent: JSONCodingPath?, component: JSONPathComponent) {
        self.parent = parent
        self.component = component
    }

    /// The node for `parent` followed by `last` (`parent` itself when there is no last step).
    static func node(_ parent: JSONCodingPath?, _ last: JSONPathComponent?) -> JSONCodingPath? {
        guard let last else { return parent }
        return JSONCodingPath(parent: parent, component: last)
    }

    /// The keys from the root to `node`, then `next` and `last`.
    static func keys(_ node: JSONCodingPath?, _ next: JSONPathComponent? = nil, _ last: JSONPathComponent? = nil)
        -> [any CodingKey]
    {
        var reversed: [any CodingKey] = []
        if let last { reversed.append(last.codingKey) }
        if let next { reversed.append(next.codingKey) }
        var current = node
        while let step = current {
            reversed.append(step.component.codingKey)
            current = step.parent
        }
        return reversed.reversed()
    }
}

/// The keys JSONDecoder itself puts in coding paths: "Index n" for array elements, "super".
struct JSONCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        self.intValue = nil
    }

    init(intValue: Int) {
        self.stringValue = "\(intValue)"
        self.intValue = intValue
    }

    init(index: Int) {
        self.stringValue = "Index \(index)"
        self.intValue = index
    }

    static let superKey = JSONCodingKey(stringValue: "super")
}
