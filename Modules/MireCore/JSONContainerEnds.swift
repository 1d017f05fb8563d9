/// Where each non-empty container of a document ends, by where it starts: the syntax check
/// records them, and decoders skip a container with a binary search instead of a rescan.
struct JSONContainerEnds {
    /// Start and end offsets, interleaved, in order of start.
    private var table: ContiguousArray<Int> = []
    /// The slots of the containers open while recording.
    private var open: ContiguousArray<Int> = []
    /// Whether `open` and `close` record anything (small documents are cheap to rescan).
    private var recording: Bool
    /// The most offsets the table may hold: it stays within half the document's size, so a
    /// document of many tiny containers cannot make the table outgrow the document itself
    /// (decoders then rescan, which tiny containers make cheap).
    private let capacity: Int

    init(recording: Bool = false, documentLength: Int = 0) {
        self.recording = recording
        self.capacity = documentLength / (2 * MemoryLayout<Int>.size)
    }

    /// Records a container opening at `offset`.
    @inline(__always)
    mutating func open(at offset: Int) {
        guard recording else { return }
        guard table.count + 2 <= capacity else {
            recording = false
            table = []
            open = []
            return
        }
        open.append(table.count)
        table.append(offset)
        table.append(offset)
    }

    /// Records that the innermost open container ends at `end`.
    @inline(__always)
    mutating func close(at end: Int) {
        guard recording, let slot = open.popLast(), slot + 1 < table.count else { return }
        table[slot + 1] = end
    }

    /// The offset after the container starting at `offset`, if recorded.
    func end(ofContainerAt offset: Int) -> Int? {
        table.withUnsafeBufferPointer { table in
            var low = 0
            var high = table.count / 2
            while low < high {
                let middle = (low + high) / 2
                let start = table[middle * 2]
                if start == offset { return table[middle * 2 + 1] }
                if start < offset { low = middle + 1 } else { high = middle }
            }
            return nil
        }
    }

    var isEmpty: Bool { table.isEmpty }
}
