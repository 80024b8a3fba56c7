import PluginABI

/// Bytes handed to a plugin as views that must stay valid until the current hook returns.
///
/// Grows in blocks that never move, so earlier views stay valid while later ones are added;
/// `reset()` after each hook makes the memory reusable without freeing the first block.
struct ScratchArena: ~Copyable {
    private var blocks: [UnsafeMutableRawBufferPointer] = []
    private var used = 0
    /// Small enough for glibc's per-thread cache (chunks up to 1,032 bytes): a request's first
    /// block costs ~100 instructions, where a 4 KiB one took the ~1,500-instruction general path.
    private static let blockSize = 1000

    mutating func store(_ bytes: UnsafeRawBufferPointer) -> agw_str {
        guard bytes.count > 0 else { return agw_str(ptr: nil, len: 0) }
        let target = reserve(bytes.count, alignment: 1)
        target.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        return agw_str(ptr: target.assumingMemoryBound(to: CChar.self), len: bytes.count)
    }

    /// An array of header views (names and values stored here too).
    mutating func store(headers: [(String, String)]) -> UnsafeBufferPointer<agw_header> {
        guard !headers.isEmpty else { return UnsafeBufferPointer(start: nil, count: 0) }
        let views = headers.map { agw_header(name: store($0.0), value: store($0.1)) }
        let target = reserve(MemoryLayout<agw_header>.stride * views.count, alignment: MemoryLayout<agw_header>.alignment)
        views.withUnsafeBytes { target.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return UnsafeBufferPointer(start: target.assumingMemoryBound(to: agw_header.self), count: views.count)
    }

    /// `count` bytes at `alignment` (at most 8) in the current block, or in a new one.
    private mutating func reserve(_ count: Int, alignment: Int) -> UnsafeMutableRawPointer {
        let start = (used + alignment - 1) & ~(alignment - 1)
        if blocks.isEmpty || start + count > blocks[blocks.count - 1].count {
            let block = UnsafeMutableRawBufferPointer.allocate(byteCount: max(Self.blockSize, count), alignment: 8)
            blocks.append(block)
            used = count
            return block.baseAddress!
        }
        used = start + count
        return blocks[blocks.count - 1].baseAddress! + start
    }

    mutating func store(_ string: String) -> agw_str {
        var string = string
        return string.withUTF8 { store(UnsafeRawBufferPointer($0)) }
    }

    mutating func store<Bytes: Collection<UInt8>>(bytes: Bytes) -> agw_str {
        if let view = bytes.withContiguousStorageIfAvailable({ store(UnsafeRawBufferPointer($0)) }) { return view }
        let copy = Array(bytes)
        return copy.withUnsafeBytes { store($0) }
    }

    /// Invalidates every view; keeps the first block for reuse.
    mutating func reset() {
        guard !blocks.isEmpty else { return }
        for block in blocks.dropFirst() { block.deallocate() }
        blocks.removeSubrange(1...)
        used = 0
    }

    deinit {
        for block in blocks { block.deallocate() }
    }
}
