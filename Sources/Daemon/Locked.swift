#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A value behind a `pthread_mutex`: the lock for state that threads other than the owner read
/// (status, output queues), never for the path between acquisition and detection.
///
/// Not `Synchronization.Mutex`: on Linux it hands a contended lock over inside the kernel (a
/// priority-inheriting futex), which ThreadSanitizer cannot see, so every contended section was
/// reported as a data race and `swift test --sanitize=thread` could not tell real ones apart.
/// ThreadSanitizer intercepts `pthread_mutex_lock`.
final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    init(_ value: Value) {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        self.value = value
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` with the value, holding the lock.
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
