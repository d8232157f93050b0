import Dispatch
import Synchronization

/// Where events go: the journal, the event socket, a terminal. A sink runs on its own thread and
/// may block there; the detector never waits for it (see ``SinkRunner``).
public protocol EventSink: AnyObject, Sendable {
    /// A short name for messages, e.g. `journal`.
    var name: String { get }
    /// Delivers one event. Called on the sink's own thread, in sequence order.
    func deliver(_ event: DaemonEvent)
    /// Called when the queue runs empty and before closing: push anything buffered out.
    func flush()
    /// Called once, after the last event and flush.
    func close()
    /// Whether exposure events (bookkeeping for the journal and reports, not for live clients)
    /// go to this output; false unless it says so.
    var takesExposure: Bool { get }
}

extension EventSink {
    public func flush() {}
    public func close() {}
    public var takesExposure: Bool { false }
}

/// A bounded queue in front of one sink, drained by a thread of its own.
///
/// `submit` never blocks: when the queue is full the event is dropped and counted (and the drop is
/// logged by the pipeline), so a stuck output can never slow the detector.
public final class SinkRunner: Sendable {
    public let sink: any EventSink
    public let capacity: Int
    private struct State {
        var items: [DaemonEvent] = []
        var closing = false
    }
    private let state = Locked(State())
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let droppedCount = Atomic<Int>(0)
    private let deliveredCount = Atomic<Int>(0)
    private let thread = Locked<JoinableThread?>(nil)

    public init(sink: any EventSink, capacity: Int = 4096) {
        self.sink = sink
        self.capacity = capacity
        let t = JoinableThread(name: "out-\(sink.name)") { [self] in run() }
        thread.withLock { $0 = t }
    }

    /// Events dropped because the queue was full.
    public var dropped: Int { droppedCount.load(ordering: .relaxed) }
    /// Events handed to the sink.
    public var delivered: Int { deliveredCount.load(ordering: .relaxed) }
    /// Events waiting.
    public var pending: Int { state.withLock { $0.items.count } }

    /// Queues an event; returns false (and counts it) when the queue is full or closing.
    @discardableResult
    public func submit(_ event: DaemonEvent) -> Bool {
        let accepted = state.withLock { s -> Bool in
            if s.closing || s.items.count >= capacity { return false }
            s.items.append(event)
            return true
        }
        if accepted {
            wake.signal()
        } else {
            droppedCount.add(1, ordering: .relaxed)
        }
        return accepted
    }

    /// Starts closing without waiting (see ``close(timeout:)``).
    public func requestClose() {
        state.withLock { $0.closing = true }
        wake.signal()
    }

    /// Delivers what is queued, flushes and closes the sink, and ends the thread. Waits at most
    /// `timeout` for a sink that is stuck (then leaves its thread behind and returns false).
    @discardableResult
    public func close(timeout: Duration = .seconds(5)) -> Bool {
        state.withLock { $0.closing = true }
        wake.signal()
        let ns =
            Int(timeout.components.seconds) * 1_000_000_000
            + Int(timeout.components.attoseconds / 1_000_000_000)
        guard finished.wait(timeout: .now() + .nanoseconds(ns)) == .success else { return false }
        let t = thread.withLock { t -> JoinableThread? in
            defer { t = nil }
            return t
        }
        t?.join()
        return true
    }

    private func run() {
        while true {
            wake.wait()
            while true {
                let (batch, closing) = state.withLock { s -> ([DaemonEvent], Bool) in
                    let b = s.items
                    s.items.removeAll(keepingCapacity: true)
                    return (b, s.closing)
                }
                for event in batch {
                    sink.deliver(event)
                    deliveredCount.add(1, ordering: .relaxed)
                }
                if batch.isEmpty {
                    sink.flush()
                    if closing {
                        sink.close()
                        finished.signal()
                        return
                    }
                    break
                }
            }
        }
    }
}

/// A sink that calls a closure: printing in `demo`, collecting in tests.
public final class ClosureSink: EventSink {
    public let name: String
    private let body: @Sendable (DaemonEvent) -> Void
    private let onFlush: @Sendable () -> Void

    public init(
        name: String, flush: @escaping @Sendable () -> Void = {},
        _ body: @escaping @Sendable (DaemonEvent) -> Void
    ) {
        self.name = name
        self.body = body
        self.onFlush = flush
    }

    public func deliver(_ event: DaemonEvent) { body(event) }
    public func flush() { onFlush() }
}
