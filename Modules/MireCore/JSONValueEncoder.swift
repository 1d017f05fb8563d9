internal import Foundation

/// The `Encoder` behind ``JSONBytesEncoder``: one per encode (then kept in
/// ``JSONEncoderPool`` for the next), reused for every nested value (as JSONValueDecoder is),
/// writing JSON bytes as containers are filled. It is also the single-value container of the
/// value being encoded.
///
/// Output is streamed, so a member is final once written. Values encoded the way synthesized
/// `Codable` and ordinary hand-written code encode them (each container filled before its
/// parent moves on, `superEncoder` used at once) are written exactly as JSONEncoder writes
/// them, keys in the order they are encoded. What streaming cannot reproduce is noted as it
/// happens and the value is then encoded again by JSONEncoder itself (``needsFallback``): a
/// key encoded twice (JSONEncoder keeps the last), writing through a container after its
/// parent moved on, a `superEncoder` used late. A member whose encode threw is undone, so a
/// value that catches the error and goes on leaves it out, as JSONEncoder does (when it does
/// not trap on that). Uses of containers that trap JSONEncoder (two single values, a keyed
/// container after an unkeyed one...) and nesting past JSONEncoder's limit are refused with an
/// `EncodingError` instead (``refusal``): nothing here traps.
final class JSONValueEncoder: Encoder, SingleValueEncodingContainer, JSONSlotHolder {
    // Unchecked exclusivity: these are touched on every value and never while another access
    // to the same property is in progress (helpers that take `inout bytes` touch nothing else).

    /// The output so far.
    @exclusivity(unchecked) var bytes: JSONOutputBuffer
    /// Open objects and arrays, innermost last.
    @exclusivity(unchecked) private(set) var open: ContiguousArray<JSONOpenContainer> = []
    /// The keys of open objects, in the order of `open`, for keys written twice.
    @exclusivity(unchecked) private var keys: ContiguousArray<JSONWrittenKey> = []
    /// The keys of open objects with many members, by container id.
    @exclusivity(unchecked) private var keySets: [Int: Set<String>] = [:]
    @exclusivity(unchecked) private var lastID = 0
    /// Where the member begun last starts (before its separator), to undo it.
    @exclusivity(unchecked) private var memberStart = 0
    /// The value whose `encode(to:)` is running.
    @exclusivity(unchecked) var slot = JSONSlot(start: 0, frames: 0)
    /// How many member values are being encoded, one inside the other.
    @exclusivity(unchecked) private(set) var level = 0
    /// The coding path of the value being encoded (JSONEncoder's encoder path).
    @exclusivity(unchecked) private(set) var path: ContiguousArray<JSONPathComponent> = []

    /// Why the encode is refused (first reason, with the path where it happened): the top level
    /// throws it whatever the value's code did with the error.
    @exclusivity(unchecked) private(set) var refusal: (message: String, path: [any CodingKey])?
    /// Streaming could not follow the value's use of containers: JSONEncoder must encode it.
    @exclusivity(unchecked) var needsFallback = false
    /// The first key of the top-level object and where its value starts, and the object's
    /// member count once closed: an enum case's name and payload.
    @exclusivity(unchecked) private(set) var topLevelKey: String?
    @exclusivity(unchecked) private(set) var topLevelValueStart = 0
    @exclusivity(unchecked) private(set) var topLevelMembers = 0

    /// Objects with more keys than this keep them in a set.
    private static var linearKeySearchLimit: Int { 16 }

    init() {
        bytes = JSONOutputBuffer(capacity: Self.initialCapacity)
        open.reserveCapacity(8)
        keys.reserveCapacity(16)
    }

    /// Room for a typical event, so that its encode never grows the buffer.
    private static var initialCapacity: Int { 256 }

    /// Empties the encoder for another encode, keeping its buffers' capacity; false when they
    /// grew too large to be worth keeping (a big document's).
    func reset() -> Bool {
        guard bytes.capacity <= 1 << 16, open.capacity <= 64, keys.capacity <= 256, path.capacity <= 64 else {
            return false
        }
        bytes.removeAll()
        // Containers, keys and path steps are removed as they end; after an error some remain.
        if !open.isEmpty { open.removeAll(keepingCapacity: true) }
        if !keys.isEmpty { keys.removeAll(keepingCapacity: true) }
        if !path.isEmpty { path.removeAll(keepingCapacity: true) }
        if !keySets.isEmpty { keySets = [:] }
        lastID = 0
        slot = JSONSlot(start: 0, frames: 0)
        level = 0
        refusal = nil
        needsFallback = false
        topLevelKey = nil
        topLevelValueStart = 0
        topLevelMembers = 0
        return true
    }

    // MARK: Encoder

    var codingPath: [any CodingKey] { path.map(\.codingKey) }

    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        keyedContainer(type, holder: self)
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer { unkeyedContainer(holder: self) }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    // MARK: JSONSlotHolder

    var slotContent: JSONSlotContent {
        get { slot.content }
        set { slot.content = newValue }
    }

    var slotPath: [any CodingKey] { codingPath }

    var slotScope: JSONEncodingScope { JSONEncodingScope(depth: path.count, extra: nil) }

    func checkInOrder() {}

    // MARK: Top level

    /// Encodes `value` as the whole document. Afterwards the caller checks ``refusal`` and
    /// ``needsFallback`` before using ``bytes``.
    func encodeTopLevel<T: Encodable>(_ value: T) throws {
        slot = JSONSlot(start: 0, frames: 0)
        let leaf = JSONLeafType(T.self)
        if leaf != .other {
            try validateLeaf(value, leaf, path: [])
            slot.content = .scalar
            writeLeaf(value, leaf)
            return
        }
        do {
            try value.encode(to: self)
        } catch {
            closeContainers(downTo: 0)
            throw error
        }
        if case .empty = slot.content { throw JSONEncodingFailure.emptyTopLevel(value) }
        closeContainers(downTo: 0)
    }

    // MARK: Slots

    /// `container(keyedBy:)` of the value in `holder`, with JSONEncoder's rules: a second call
    /// returns the same object; after anything but an object it traps there, refused here.
    func keyedContainer<Key: CodingKey>(_ type: Key.Type, holder: some JSONSlotHolder) -> KeyedEncodingContainer<
        Key
    > {
        holder.checkInOrder()
        let scope = holder.slotScope
        guard refusal == nil else { return KeyedEncodingContainer(JSONKeyedEncodingContainer(self, .dead, scope)) }
        switch holder.slotContent {
        case .empty:
            let ref = openContainer(isObject: true)
            holder.slotContent = .container(ref, isObject: true, viaSingleValue: false)
            return KeyedEncodingContainer(JSONKeyedEncodingContainer(self, ref, scope))
        case .container(let ref, isObject: true, _):
            // Class hierarchies encode into one encoder: JSONEncoder hands out its object again.
            if !isCurrent(ref) { needsFallback = true }
            holder.slotContent = .container(ref, isObject: true, viaSingleValue: false)
            return KeyedEncodingContainer(JSONKeyedEncodingContainer(self, ref, scope))
        case .container, .scalar:
            refuse(
                "Attempt to push new keyed encoding container when already previously encoded at this path.",
                path: holder.slotPath)
            return KeyedEncodingContainer(JSONKeyedEncodingContainer(self, .dead, scope))
        }
    }

    /// `unkeyedContainer()` of the value in `holder`, with JSONEncoder's rules.
    func unkeyedContainer(holder: some JSONSlotHolder) -> any UnkeyedEncodingContainer {
        holder.checkInOrder()
        let scope = holder.slotScope
        guard refusal == nil else { return JSONUnkeyedEncodingContainer(self, .dead, scope) }
        switch holder.slotContent {
        case .empty:
            let ref = openContainer(isObject: false)
            holder.slotContent = .container(ref, isObject: false, viaSingleValue: false)
            return JSONUnkeyedEncodingContainer(self, ref, scope)
        case .container(let ref, isObject: false, viaSingleValue: false):
            if !isCurrent(ref) { needsFallback = true }
            return JSONUnkeyedEncodingContainer(self, ref, scope)
        case .container, .scalar:
            // After an array given as a single value JSONEncoder traps for some element types
            // (its direct arrays of numbers and strings) and not others: refused for all.
            refuse(
                "Attempt to push new unkeyed encoding container when already previously encoded at this path.",
                path: holder.slotPath)
            return JSONUnkeyedEncodingContainer(self, .dead, scope)
        }
    }

    /// Claims the value in `holder` for a single value: JSONEncoder traps on a second one.
    ///
    /// (After a container JSONEncoder accepts a single value and then drops it, or merges it
    /// into the container: refused here too.)
    @inline(__always)
    func beginSingleValue(_ holder: some JSONSlotHolder) throws {
        holder.checkInOrder()
        if refusal != nil { throw JSONEncodingRefused() }
        guard case .empty = holder.slotContent else {
            refuse(
                "Attempt to encode value through single value container when previously value already encoded.",
                path: holder.slotPath)
            throw JSONEncodingRefused()
        }
    }

    /// `singleValueContainer().encode(value)` for the value in `holder`.
    func encodeSingleValue<T: Encodable>(_ value: T, holder: some JSONSlotHolder & Encoder) throws {
        try beginSingleValue(holder)
        let leaf = JSONLeafType(T.self)
        if leaf != .other {
            try validateLeaf(value, leaf, path: holder.slotPath)
            holder.slotContent = .scalar
            writeLeaf(value, leaf)
            return
        }
        // JSONEncoder encodes it with the same encoder: its containers are this value's.
        let start = bytes.count
        let frames = open.count
        do {
            try value.encode(to: holder)
        } catch {
            // Undone, in case the caller goes on: the value is still to be written.
            closeContainers(downTo: frames)
            if start <= bytes.count { bytes.removeLast(bytes.count - start) }
            holder.slotContent = .empty
            throw error
        }
        switch holder.slotContent {
        case .empty:
            // A value that wrote nothing is an empty object.
            let ref = openContainer(isObject: true)
            holder.slotContent = .container(ref, isObject: true, viaSingleValue: true)
        case .container(let ref, let isObject, _):
            holder.slotContent = .container(ref, isObject: isObject, viaSingleValue: true)
        case .scalar:
            break
        }
    }

    // MARK: Containers

    /// Opens an object or array at the end of the output.
    func openContainer(isObject: Bool) -> JSONContainerRef {
        guard open.count < JSONEncodingLimits.maximumDepth - 1 else {
            refuse(JSONEncodingFailure.tooDeepMessage, path: codingPath)
            return .dead
        }
        lastID &+= 1
        open.append(JSONOpenContainer(id: lastID, isObject: isObject, level: level, keysStart: keys.count))
        bytes.append(isObject ? UInt8(ascii: "{") : UInt8(ascii: "["))
        return JSONContainerRef(index: open.count - 1, id: lastID)
    }

    /// Whether `ref` is open and written to in order: by the value that opened it.
    @inline(__always)
    func isCurrent(_ ref: JSONContainerRef) -> Bool {
        ref.index >= 0 && ref.index < open.count && open[ref.index].id == ref.id && open[ref.index].level == level
    }

    /// Whether the member reserved by the super encoder `id` in `owner` is still the place to
    /// write its value.
    func isPendingSuper(_ owner: JSONContainerRef, _ id: Int) -> Bool {
        isCurrent(owner) && open[owner.index].pendingSuper == id
    }

    /// The number of members of `ref`, or `fallback` once it is closed.
    func memberCount(_ ref: JSONContainerRef, otherwise fallback: Int) -> Int {
        ref.index >= 0 && ref.index < open.count && open[ref.index].id == ref.id ? open[ref.index].count : fallback
    }

    /// Closes open containers until `count` remain.
    func closeContainers(downTo count: Int) {
        var last = open.count - 1
        while last >= count, last >= 0 {
            finishPendingSuper(last)
            let container = open.removeLast()
            if container.isObject {
                while keys.count > container.keysStart { keys.removeLast() }
                if !keySets.isEmpty { keySets.removeValue(forKey: container.id) }
                if last == 0 { topLevelMembers = container.count }
                bytes.append(UInt8(ascii: "}"))
            } else {
                bytes.append(UInt8(ascii: "]"))
            }
            last -= 1
        }
    }

    /// Writes `{}` for a reserved super member nothing was encoded into.
    @inline(__always)
    private func finishPendingSuper(_ index: Int) {
        guard open[index].pendingSuper != 0 else { return }
        if bytes.count == open[index].pendingSuperStart {
            bytes.append(UInt8(ascii: "{"))
            bytes.append(UInt8(ascii: "}"))
        }
        open[index].pendingSuper = 0
    }

    /// Starts the next member of `ref` (the separator): true when it is written in order,
    /// false when it cannot be (the container was closed, or its value is not the one being
    /// encoded), which marks the encode for JSONEncoder and writes nothing.
    @inline(__always)
    func beginMember(_ ref: JSONContainerRef) -> Bool {
        let top = open.count - 1
        if ref.index == top, top >= 0, open[top].id == ref.id, open[top].pendingSuper == 0, open[top].level == level {
            memberStart = bytes.count
            if open[top].count > 0 { bytes.append(UInt8(ascii: ",")) }
            open[top].count += 1
            return true
        }
        return beginMemberSlowly(ref)
    }

    private func beginMemberSlowly(_ ref: JSONContainerRef) -> Bool {
        guard isCurrent(ref) else {
            needsFallback = true
            return false
        }
        // The containers above were nested in this one and are finished: they close now.
        closeContainers(downTo: ref.index + 1)
        finishPendingSuper(ref.index)
        memberStart = bytes.count
        if open[ref.index].count > 0 { bytes.append(UInt8(ascii: ",")) }
        open[ref.index].count += 1
        return true
    }

    /// Starts a member of the object `ref` under `key` for a value (`"key":`); false when it
    /// is not written in order. Throws once the encode is refused. A key written before marks
    /// the encode for JSONEncoder, which keeps the last value.
    @inline(__always)
    @discardableResult
    func beginValue(_ ref: JSONContainerRef, _ name: String, kind: JSONMemberKind = .value) throws -> Bool {
        if refusal != nil { throw JSONEncodingRefused() }
        guard beginMember(ref) else { return false }
        if earlierKey(name, in: ref.index) != nil { needsFallback = true }
        writeKey(name, in: ref.index, kind: kind)
        return true
    }

    /// Undoes the member of `ref` begun at `start` (its separator, key and whatever its value
    /// wrote before throwing): JSONEncoder sets nothing for a value that threw.
    private func undoMember(_ ref: JSONContainerRef, from start: Int, keys keyCount: Int) {
        // The failed value's containers are closed already; anything else means out of order.
        guard isCurrent(ref), ref.index == open.count - 1, start <= bytes.count else { return }
        bytes.removeLast(bytes.count - start)
        if keyCount > open[ref.index].keysStart, keys.count == keyCount { keys.removeLast() }
        open[ref.index].count -= 1
        if ref.index == 0, open[0].count == 0 { topLevelKey = nil }
    }

    /// How a nested container's member began.
    enum NestedStart {
        /// Its key is written (or it is out of order, marked for JSONEncoder): open it.
        case written
        /// JSONEncoder would trap: the key already holds another kind of value.
        case refused(String)
        /// The encode was refused before.
        case dead
    }

    /// Starts a member of the object `ref` under `name` for a nested container.
    func beginNested(_ ref: JSONContainerRef, _ name: String, isObject: Bool) -> NestedStart {
        guard refusal == nil else { return .dead }
        guard beginMember(ref) else { return .written }
        if let earlier = earlierKey(name, in: ref.index) {
            // JSONEncoder reuses what the key holds when it is of the same kind.
            let first = earlier.valueStart < bytes.count ? bytes[earlier.valueStart] : 0
            let reusable =
                isObject
                ? earlier.kind == .nestedObject || (earlier.kind == .value && first == UInt8(ascii: "{"))
                : earlier.kind == .nestedArray
            guard reusable else {
                let kind = isObject ? "KeyedEncodingContainer" : "UnkeyedEncodingContainer"
                return .refused(
                    "Attempt to re-encode into nested \(kind) for key \"\(name)\" is invalid: another kind of value is already encoded for this key"
                )
            }
            needsFallback = true
        }
        writeKey(name, in: ref.index, kind: isObject ? .nestedObject : .nestedArray)
        return .written
    }

    /// Reserves the next member of `ref` (after its key, for an object) for a super encoder.
    func reserveSuper(_ ref: JSONContainerRef) -> Int {
        lastID &+= 1
        if isCurrent(ref), ref.index == open.count - 1 {
            open[ref.index].pendingSuper = lastID
            open[ref.index].pendingSuperStart = bytes.count
        }
        return lastID
    }

    /// The latest key named `name` in the open object at `index`.
    private func earlierKey(_ name: String, in index: Int) -> JSONWrittenKey? {
        let start = open[index].keysStart
        if keys.count - start <= Self.linearKeySearchLimit {
            var position = keys.count
            while position > start {
                position -= 1
                if keys[position].name == name { return keys[position] }
            }
            return nil
        }
        let id = open[index].id
        if keySets[id] == nil { keySets[id] = Set(keys[start...].lazy.map(\.name)) }
        guard keySets[id]?.contains(name) == true else { return nil }
        return keys[start...].last { $0.name == name }
    }

    /// Writes `"name":` and records the key.
    @inline(__always)
    private func writeKey(_ name: String, in index: Int, kind: JSONMemberKind) {
        JSONStringEscaping.appendQuoted(name, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
        keys.append(JSONWrittenKey(name: name, valueStart: bytes.count, kind: kind))
        if !keySets.isEmpty { keySets[open[index].id]?.insert(name) }
        if index == 0, open[0].count == 1 {
            topLevelKey = name
            topLevelValueStart = bytes.count
        }
    }

    /// Starts the next element of the array `ref`; false when it is not written in order.
    /// Throws once the encode is refused.
    @inline(__always)
    @discardableResult
    func beginElement(_ ref: JSONContainerRef) throws -> Bool {
        if refusal != nil { throw JSONEncodingRefused() }
        return beginMember(ref)
    }

    // MARK: Member values

    /// Encodes a member's value with its own `encode(to:)`, as a new value (JSONEncoder gives it
    /// a sub-encoder whose path is the container's scope and `component`).
    func encodeMemberValue<T: Encodable>(_ value: T, scope: JSONEncodingScope, component: JSONPathComponent)
        throws
    {
        let saved = slot
        let savedPathCount = path.count
        if scope.extra != nil { path.append(contentsOf: scope.extraComponents) }
        path.append(component)
        level += 1
        slot = JSONSlot(start: bytes.count, frames: open.count)
        defer {
            level -= 1
            if path.count > savedPathCount { path.removeLast(path.count - savedPathCount) }
            slot = saved
        }
        do {
            try value.encode(to: self)
        } catch {
            closeContainers(downTo: slot.frames)
            throw error
        }
        if case .empty = slot.content {
            // JSONEncoder's value for an encoder that wrote nothing.
            bytes.append(UInt8(ascii: "{"))
            bytes.append(UInt8(ascii: "}"))
        }
        closeContainers(downTo: slot.frames)
    }

    /// Encodes `value` as the next member of `ref` under `key`.
    func encodeMember<T: Encodable>(
        _ value: T, forKey key: some CodingKey, in ref: JSONContainerRef, scope: JSONEncodingScope
    ) throws {
        let leaf = JSONLeafType(T.self)
        if leaf != .other {
            try validateLeaf(value, leaf, path: self.path(of: scope) + [key])
            try beginValue(ref, key.stringValue)
            writeLeaf(value, leaf)
            return
        }
        guard try beginValue(ref, key.stringValue) else {
            return try encodeMemberValue(value, scope: scope, component: .key(key))
        }
        let start = memberStart
        let keyCount = keys.count
        do {
            try encodeMemberValue(value, scope: scope, component: .key(key))
        } catch {
            undoMember(ref, from: start, keys: keyCount)
            throw error
        }
    }

    /// Encodes `value` as the next element of the array `ref`.
    func encodeElement<T: Encodable>(_ value: T, in ref: JSONContainerRef, index: Int, scope: JSONEncodingScope)
        throws
    {
        let leaf = JSONLeafType(T.self)
        if leaf != .other {
            try validateLeaf(value, leaf, path: self.path(of: scope) + [JSONCodingKey(index: index)])
            try beginElement(ref)
            writeLeaf(value, leaf)
            return
        }
        guard try beginElement(ref) else {
            return try encodeMemberValue(value, scope: scope, component: .index(index))
        }
        let start = memberStart
        do {
            try encodeMemberValue(value, scope: scope, component: .index(index))
        } catch {
            undoMember(ref, from: start, keys: -1)
            throw error
        }
    }

    // MARK: Leaves

    /// Throws JSONEncoder's error for a leaf it refuses: NaN and infinities (Double, Float,
    /// Date), and `Decimal.nan`.
    @inline(__always)
    func validateLeaf<T>(_ value: T, _ leaf: JSONLeafType, path: @autoclosure () -> [any CodingKey]) throws {
        switch leaf {
        case .double:
            let double: Double = cast(value)
            if !double.isFinite { throw JSONEncodingFailure.nonConforming(double, path: path()) }
        case .float:
            let float: Float = cast(value)
            if !float.isFinite { throw JSONEncodingFailure.nonConforming(float, path: path()) }
        case .date:
            let seconds = (cast(value) as Date).timeIntervalSinceReferenceDate
            if !seconds.isFinite { throw JSONEncodingFailure.nonConforming(seconds, path: path()) }
        case .decimal:
            let decimal: Decimal = cast(value)
            if decimal.isNaN { throw JSONEncodingFailure.decimalNaN(decimal, path: path()) }
        default:
            break
        }
    }

    /// Writes a leaf value (validated) as JSONEncoder does, without its `encode(to:)`: Date as
    /// its seconds since 2001, Data as Base64, URL as its absolute string, Decimal as its
    /// description.
    func writeLeaf<T>(_ value: T, _ leaf: JSONLeafType) {
        switch leaf {
        case .other: break
        case .string: JSONStringEscaping.appendQuoted(cast(value), to: &bytes)
        case .bool: appendBool(cast(value))
        case .int: JSONNumberFormatting.appendInteger(cast(value) as Int, to: &bytes)
        case .int8: JSONNumberFormatting.appendInteger(cast(value) as Int8, to: &bytes)
        case .int16: JSONNumberFormatting.appendInteger(cast(value) as Int16, to: &bytes)
        case .int32: JSONNumberFormatting.appendInteger(cast(value) as Int32, to: &bytes)
        case .int64: JSONNumberFormatting.appendInteger(cast(value) as Int64, to: &bytes)
        case .uint: JSONNumberFormatting.appendInteger(cast(value) as UInt, to: &bytes)
        case .uint8: JSONNumberFormatting.appendInteger(cast(value) as UInt8, to: &bytes)
        case .uint16: JSONNumberFormatting.appendInteger(cast(value) as UInt16, to: &bytes)
        case .uint32: JSONNumberFormatting.appendInteger(cast(value) as UInt32, to: &bytes)
        case .uint64: JSONNumberFormatting.appendInteger(cast(value) as UInt64, to: &bytes)
        case .double: JSONNumberFormatting.appendDouble(cast(value), to: &bytes)
        case .float: JSONNumberFormatting.appendFloat(cast(value), to: &bytes)
        case .date: JSONNumberFormatting.appendDouble((cast(value) as Date).timeIntervalSinceReferenceDate, to: &bytes)
        case .data: JSONStringEscaping.appendQuoted((cast(value) as Data).base64EncodedString(), to: &bytes)
        case .url: JSONStringEscaping.appendQuoted((cast(value) as URL).absoluteString, to: &bytes)
        case .decimal: bytes.append((cast(value) as Decimal).description)
        }
    }

    @inline(__always)
    func appendBool(_ value: Bool) { append(value ? "true" : "false") }

    @inline(__always)
    func appendNull() { append("null") }

    /// Appends ASCII text from the binary (no array is built for it).
    @inline(__always)
    func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// Reinterprets a value as `Value` once the caller has checked that `T` is that type.
    @inline(__always)
    private func cast<T, Value>(_ value: T) -> Value {
        // Checked rather than assumed: a wrong cast here would be memory corruption.
        precondition(T.self == Value.self)
        return unsafeBitCast(value, to: Value.self)
    }

    // MARK: Paths and refusals

    /// The path of the values in containers of `scope` (without the last key).
    func path(of scope: JSONEncodingScope) -> [any CodingKey] {
        var result: [any CodingKey] = []
        result.reserveCapacity(scope.depth + 2)
        for step in path.prefix(scope.depth) { result.append(step.codingKey) }
        for step in scope.extraComponents { result.append(step.codingKey) }
        return result
    }

    /// Records why the encode is refused (the first reason is kept).
    func refuse(_ message: String, path: [any CodingKey]) {
        if refusal == nil { refusal = (message, path) }
    }

    // MARK: SingleValueEncodingContainer

    func encodeNil() throws {
        try beginSingleValue(self)
        slot.content = .scalar
        appendNull()
    }

    func encode(_ value: Bool) throws {
        try beginSingleValue(self)
        slot.content = .scalar
        appendBool(value)
    }

    func encode(_ value: String) throws {
        try beginSingleValue(self)
        slot.content = .scalar
        JSONStringEscaping.appendQuoted(value, to: &bytes)
    }

    func encode(_ value: Double) throws {
        try beginSingleValue(self)
        guard value.isFinite else { throw JSONEncodingFailure.nonConforming(value, path: codingPath) }
        slot.content = .scalar
        JSONNumberFormatting.appendDouble(value, to: &bytes)
    }

    func encode(_ value: Float) throws {
        try beginSingleValue(self)
        guard value.isFinite else { throw JSONEncodingFailure.nonConforming(value, path: codingPath) }
        slot.content = .scalar
        JSONNumberFormatting.appendFloat(value, to: &bytes)
    }

    func encode(_ value: Int) throws { try encodeInteger(value) }
    func encode(_ value: Int8) throws { try encodeInteger(value) }
    func encode(_ value: Int16) throws { try encodeInteger(value) }
    func encode(_ value: Int32) throws { try encodeInteger(value) }
    func encode(_ value: Int64) throws { try encodeInteger(value) }
    func encode(_ value: Int128) throws { try encodeInteger(value) }
    func encode(_ value: UInt) throws { try encodeInteger(value) }
    func encode(_ value: UInt8) throws { try encodeInteger(value) }
    func encode(_ value: UInt16) throws { try encodeInteger(value) }
    func encode(_ value: UInt32) throws { try encodeInteger(value) }
    func encode(_ value: UInt64) throws { try encodeInteger(value) }
    func encode(_ value: UInt128) throws { try encodeInteger(value) }

    func encode<T: Encodable>(_ value: T) throws { try encodeSingleValue(value, holder: self) }

    @inline(__always)
    private func encodeInteger<I: FixedWidthInteger>(_ value: I) throws {
        try beginSingleValue(self)
        slot.content = .scalar
        JSONNumberFormatting.appendInteger(value, to: &bytes)
    }
}
