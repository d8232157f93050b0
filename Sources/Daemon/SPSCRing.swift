import Synchronization

/// A fixed-capacity, lock-free, single-producer single-consumer ring.
///
/// The acquisition thread is the only producer and the detector thread the only consumer. Neither
/// ever blocks or allocates: a full ring refuses the element (the caller counts it as dropped), an
/// empty ring returns nothing. Indices grow without wrapping (64-bit) and are masked on access.
///
/// Samples cross in bulk (``push(contentsOf:)``, ``pop(into:)``: plain copies); health messages,
/// which hold strings, one at a time (``push(_:)``, ``peek()``, ``pop()``: moved in and out).
public final class SPSCRing<Element>: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<Element>
    private let mask: Int
    /// Capacity in elements (a power of two).
    public let capacity: Int
    /// Next slot the producer writes. Written by the producer only.
    private let head = Atomic<Int>(0)
    /// Next slot the consumer reads. Written by the consumer only.
    private let tail = Atomic<Int>(0)

    /// Creates a ring holding at least `minimumCapacity` elements (rounded up to a power of two).
    public init(minimumCapacity: Int) {
        var c = 2
        while c < minimumCapacity { c <<= 1 }
        capacity = c
        mask = c - 1
        storage = UnsafeMutablePointer<Element>.allocate(capacity: c)
    }

    deinit {
        // Both threads are gone: release what was never taken.
        let h = head.load(ordering: .acquiring)
        var t = tail.load(ordering: .acquiring)
        while t < h {
            (storage + (t & mask)).deinitialize(count: 1)
            t += 1
        }
        storage.deallocate()
    }

    /// Producer side: appends one element, or returns false when the ring is full.
    @inline(__always)
    public func push(_ element: consuming Element) -> Bool {
        let h = head.load(ordering: .relaxed)
        let t = tail.load(ordering: .acquiring)
        if h - t >= capacity { return false }
        (storage + (h & mask)).initialize(to: element)
        head.store(h + 1, ordering: .releasing)
        return true
    }

    /// Consumer side: the oldest element, left in the ring (nil when empty).
    public func peek() -> Element? {
        let t = tail.load(ordering: .relaxed)
        let h = head.load(ordering: .acquiring)
        if h == t { return nil }
        return (storage + (t & mask)).pointee
    }

    /// Consumer side: removes the oldest element (nil when empty).
    public func pop() -> Element? {
        let t = tail.load(ordering: .relaxed)
        let h = head.load(ordering: .acquiring)
        if h == t { return nil }
        let element = (storage + (t & mask)).move()
        tail.store(t + 1, ordering: .releasing)
        return element
    }

    /// Consumer side: elements ready to be taken (at least this many stay available).
    public var available: Int { head.load(ordering: .acquiring) - tail.load(ordering: .relaxed) }

    /// Elements waiting (approximate when read from a third thread).
    public var count: Int { head.load(ordering: .acquiring) - tail.load(ordering: .acquiring) }
}

extension SPSCRing where Element: BitwiseCopyable {
    /// Producer side: appends as many of `elements` as fit; returns how many were taken.
    public func push(contentsOf elements: UnsafeBufferPointer<Element>) -> Int {
        let h = head.load(ordering: .relaxed)
        let t = tail.load(ordering: .acquiring)
        let n = min(elements.count, capacity - (h - t))
        if n <= 0 { return 0 }
        for i in 0..<n { (storage + ((h + i) & mask)).initialize(to: elements[i]) }
        head.store(h + n, ordering: .releasing)
        return n
    }

    /// Consumer side: removes up to `buffer.count` elements into `buffer`; returns how many.
    public func pop(into buffer: UnsafeMutableBufferPointer<Element>) -> Int {
        let t = tail.load(ordering: .relaxed)
        let h = head.load(ordering: .acquiring)
        let n = min(buffer.count, h - t)
        if n <= 0 { return 0 }
        for i in 0..<n { buffer[i] = (storage + ((t + i) & mask)).pointee }
        tail.store(t + n, ordering: .releasing)
        return n
    }
}
