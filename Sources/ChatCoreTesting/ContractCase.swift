import ChatCore

/// One case of a contract suite: a named check that any implementation of a port must pass.
///
/// Test targets run every case against every implementation, one parameterised test per
/// implementation (`@Test(arguments: UserStoreContract.cases)`), so an adapter cannot drift from
/// the in-memory fake without a named case failing.
///
/// Cases use fresh random room ids and names, so most can share one real backend. A few touch
/// state the whole backend shares (deleting every user, the cached room list): run a suite
/// against a shared backend with Swift Testing's `.serialized` trait.
public struct ContractCase<Subject>: Sendable, CustomStringConvertible {
    public let name: String
    private let body: @Sendable (Subject) async throws -> Void

    public init(_ name: String, _ body: @escaping @Sendable (Subject) async throws -> Void) {
        self.name = name
        self.body = body
    }

    public func run(against subject: Subject) async throws {
        try await body(subject)
    }

    public var description: String { name }
}

/// A failed contract expectation, with where it was stated.
public struct ContractViolation: Error, CustomStringConvertible {
    public let message: String
    public let location: String

    public var description: String { "\(location): \(message)" }
}

func expect(
    _ condition: Bool,
    _ message: @autoclosure () -> String,
    file: StaticString = #fileID,
    line: UInt = #line
) throws {
    if !condition { throw ContractViolation(message: message(), location: "\(file):\(line)") }
}

func expectEqual<T: Equatable>(
    _ actual: T,
    _ expected: T,
    _ what: String = "value",
    file: StaticString = #fileID,
    line: UInt = #line
) throws {
    try expect(actual == expected, "\(what): expected \(expected), got \(actual)", file: file, line: line)
}

func expectChatError(
    _ expected: ChatError,
    file: StaticString = #fileID,
    line: UInt = #line,
    _ body: () async throws -> Void
) async throws {
    do {
        try await body()
    } catch let error as ChatError {
        try expectEqual(error, expected, "error", file: file, line: line)
        return
    }
    throw ContractViolation(message: "expected \(expected) to be thrown; nothing was", location: "\(file):\(line)")
}

/// Room ids and names no other case uses, so cases can share one real backend.
enum Unique {
    static func room() -> RoomID { RoomID(Int64.random(in: 1_000_000_000...9_000_000_000_000)) }
    static func user(_ prefix: String = "u") -> UserName {
        UserName(trusted: "\(prefix)-\(UInt32.random(in: 0...UInt32.max))")
    }
    static func server() -> ServerID { ServerID(rawValue: "s-\(UInt64.random(in: 0...UInt64.max))") }
}
