/// The error of type `E` that `body` throws, or nil when it throws nothing (or something else).
///
/// Swift 6.0's `#expect(throws:)` returns nothing (Debian trixie's swiftlang 6.0.3, what a
/// Raspberry Pi gets from apt), so a test that looks at the error takes it from here:
/// `let e = try #require(thrown(BusError.self) { try ... })`.
public func thrown<E: Error, T>(_ type: E.Type, _ body: () throws -> T) -> E? {
    do {
        _ = try body()
    } catch let e as E {
        return e
    } catch {
        return nil
    }
    return nil
}
