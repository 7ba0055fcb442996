import Foundation

/// Where message timestamps come from; injectable so tests can pin time.
public protocol WallClock: Sendable {
    /// Milliseconds since the Unix epoch.
    func millisecondsSinceEpoch() -> Int64
}

/// The system's real-time clock.
public struct SystemWallClock: WallClock {
    public init() {}

    public func millisecondsSinceEpoch() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}
