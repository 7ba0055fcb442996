/// Polls `probe` until it returns a value, or fails with `what` after `timeout`.
/// Tests wait on outcomes this way; none asserts how long something took.
func eventually<T>(
    _ what: @autoclosure () -> String,
    timeout: Duration = .seconds(10),
    _ probe: () async throws -> T?
) async throws -> T {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while true {
        if let value = try await probe() { return value }
        guard ContinuousClock.now < deadline else { throw TestFailure(what()) }
        try await Task.sleep(for: .milliseconds(5))
    }
}
