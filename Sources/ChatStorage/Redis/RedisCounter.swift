import Synchronization

/// A shareable count of failures, for closures that outlive a borrow of their owner
/// (`Atomic` itself cannot be captured).
final class RedisCounter: Sendable {
    private let count = Atomic<Int>(0)

    var value: Int { count.load(ordering: .relaxed) }

    func increment(by amount: Int = 1) {
        count.add(amount, ordering: .relaxed)
    }
}
