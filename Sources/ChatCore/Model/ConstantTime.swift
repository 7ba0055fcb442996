/// Comparison of secrets whose running time does not depend on where they differ, so a
/// client timing its guesses learns nothing about how much of one was right.
public enum ConstantTime {
    /// True when `a` and `b` are the same bytes. Takes time in proportion to the longer one
    /// only; a length difference is folded into the result, not returned early.
    public static func equal(_ a: some StringProtocol, _ b: some StringProtocol) -> Bool {
        let left = Array(a.utf8)
        let right = Array(b.utf8)
        var difference = UInt64(truncatingIfNeeded: left.count ^ right.count)
        for index in 0..<max(left.count, right.count) {
            let x = index < left.count ? left[index] : 0
            let y = index < right.count ? right[index] : 0
            difference |= UInt64(x ^ y)
        }
        return difference == 0
    }
}
