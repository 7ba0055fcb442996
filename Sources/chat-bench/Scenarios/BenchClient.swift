import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// What every scenario shares: the event loops the members live on (one `LoopStats` each),
/// the HTTP client for setup, joining members in bulk, collecting figures and closing.
struct BenchClient: Sendable {
    let group: MultiThreadedEventLoopGroup
    let http: HTTPClient
    let loopStats: [NIOLoopBound<LoopStats>]
    let progress: Bool
    /// Tokens of the users this run created, for their joins.
    let tokens = BenchTokens()

    /// One member to join: room index (for counting), the server's room id, its user and server.
    struct Seat: Sendable {
        var room: Int
        var roomID: Int
        var user: String
        var endpoint: ServerEndpoint
        var historyLastSeq: UInt64? = nil
        /// Time this member's join by a probe it posts (`rooms`): whether it is its room's first on its server.
        var probeFirstOnServer: Bool? = nil
    }

    /// Runs `body` with a client on one event loop per core, and shuts it down afterwards.
    static func with<T: Sendable>(progress: Bool, _ body: (BenchClient) async throws -> T) async throws -> T {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let http = HTTPClient(eventLoopGroupProvider: .shared(group))
        let result: Result<T, any Error>
        do {
            var stats: [NIOLoopBound<LoopStats>] = []
            for loop in group.makeIterator() {
                stats.append(try await loop.submit { NIOLoopBound(LoopStats(), eventLoop: loop) }.get())
            }
            result = .success(try await body(BenchClient(group: group, http: http, loopStats: stats, progress: progress)))
        } catch {
            result = .failure(error)
        }
        try? await http.shutdown()
        try? await group.shutdownGracefully()
        return try result.get()
    }

    var threads: Int { loopStats.count }

    func setup(_ endpoint: ServerEndpoint) -> SetupClient { SetupClient(http: http, baseURL: endpoint.baseURL, tokens: tokens) }

    /// A prefix unique to this run, so users of several runs on one server do not collide.
    static func runID() -> String { String(UInt32.random(in: 0...UInt32.max), radix: 36) }

    /// Creates the users over HTTP (16 requests in flight).
    func createUsers(_ names: [String], on endpoint: ServerEndpoint) async throws {
        let setup = setup(endpoint)
        try await forEach(names.indices, concurrency: 16) { try await setup.createUser(names[$0]) }
    }

    /// Joins every seat, `concurrency` at a time, seat i on event loop i mod loops. Returns the
    /// members in seat order (nil where the join failed) and the failures.
    func join(_ seats: [Seat], concurrency: Int, offerDeflate: Bool) async throws -> (members: [WebSocketConnector.Member?], failures: [String]) {
        let joined = JoinedMembers(count: seats.count)
        let stats = loopStats
        let tokens = tokens
        try await forEach(seats.indices, concurrency: concurrency) { index in
            let seat = seats[index]
            let connector = WebSocketConnector(endpoint: seat.endpoint, offerDeflate: offerDeflate)
            do {
                let member = try await connector.join(
                    room: seat.room, roomID: seat.roomID, user: seat.user, token: tokens.token(of: seat.user), stats: stats[index % stats.count],
                    historyLastSeq: seat.historyLastSeq, probeFirstOnServer: seat.probeFirstOnServer)
                if seat.probeFirstOnServer != nil { member.handler.eventLoop.execute { member.handler.value.sendJoinProbe() } }
                joined.set(index, .joined(member))
            } catch {
                joined.set(index, .failed("\(seat.user) on \(seat.endpoint.baseURL): \(error)"))
            }
        }
        return joined.results()
    }

    /// Waits until the server lists `count` users in the room (its own view, on any server).
    func waitForPresence(roomID: Int, count: Int, on endpoint: ServerEndpoint, timeout: Duration = .seconds(30)) async throws -> Bool {
        let setup = setup(endpoint)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await setup.connectedUsers(room: roomID) >= count { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Every loop's figures, merged.
    func collect() async throws -> LoopStats.Snapshot {
        var total = LoopStats.Snapshot()
        for stats in loopStats { total.add(try await stats.eventLoop.submit { stats.value.figures }.get()) }
        return total
    }

    /// Closes every member with the close handshake and waits for the sockets to close.
    func close(_ members: [WebSocketConnector.Member]) async {
        for member in members { member.handler.eventLoop.execute { member.handler.value.close(timeout: .seconds(2)) } }
        for member in members { try? await member.channel.closeFuture.get() }
    }

    func status(_ line: String, sameLine: Bool = false) {
        guard progress else { return }
        FileHandle.standardError.write(Data((sameLine ? "\r" + line : line + "\n").utf8))
    }

    /// Ends a line of `status(_:sameLine:)` updates.
    func endProgressLine() {
        if progress { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    /// Runs `body` for every index with at most `concurrency` in flight.
    func forEach(_ indices: Range<Int>, concurrency: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = indices.lowerBound
            while next < indices.upperBound, next - indices.lowerBound < concurrency {
                let index = next
                group.addTask { try await body(index) }
                next += 1
            }
            while try await group.next() != nil, next < indices.upperBound {
                let index = next
                group.addTask { try await body(index) }
                next += 1
            }
            try await group.waitForAll()
        }
    }
}

/// The joined members, filled concurrently.
private final class JoinedMembers: Sendable {
    enum Outcome: Sendable {
        case joined(WebSocketConnector.Member)
        case failed(String)
    }

    private let outcomes: Mutex<[Outcome?]>

    init(count: Int) { outcomes = Mutex(Array(repeating: nil, count: count)) }

    func set(_ index: Int, _ outcome: Outcome) { outcomes.withLock { $0[index] = outcome } }

    func results() -> (members: [WebSocketConnector.Member?], failures: [String]) {
        outcomes.withLock { all in
            let members = all.map { outcome -> WebSocketConnector.Member? in
                if case .joined(let member) = outcome { member } else { nil }
            }
            let failures = all.compactMap { outcome -> String? in
                if case .failed(let text) = outcome { text } else { nil }
            }
            return (members, failures)
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
