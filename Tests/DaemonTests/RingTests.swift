import Daemon
import Foundation
import Testing

@Suite struct RingTests {
    @Test func refusesWhenFullAndKeepsOrder() {
        let ring = SPSCRing<Int>(minimumCapacity: 5)
        #expect(ring.capacity == 8)
        for i in 0..<8 { #expect(ring.push(i)) }
        #expect(!ring.push(99))
        var out = [Int](repeating: -1, count: 3)
        let n = out.withUnsafeMutableBufferPointer { ring.pop(into: $0) }
        #expect(n == 3)
        #expect(out == [0, 1, 2])
        #expect(ring.push(8))
        var rest = [Int](repeating: -1, count: 16)
        let m = rest.withUnsafeMutableBufferPointer { ring.pop(into: $0) }
        #expect(Array(rest[0..<m]) == Array(3...8))
    }

    @Test func oneProducerOneConsumerAcrossThreads() async {
        let ring = SPSCRing<Int>(minimumCapacity: 1024)
        let total = 500_000
        let producer = Thread {
            var i = 0
            while i < total {
                if ring.push(i) { i += 1 }
            }
        }
        producer.start()
        var expected = 0
        var ok = true
        var buffer = [Int](repeating: 0, count: 256)
        while expected < total {
            let n = buffer.withUnsafeMutableBufferPointer { ring.pop(into: $0) }
            for k in 0..<n where buffer[k] != expected + k { ok = false }
            expected += n
        }
        #expect(ok)
        #expect(expected == total)
        #expect(ring.count == 0)
    }
}
