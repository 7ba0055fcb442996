import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// The `fanout` scenario: R rooms of M members, P of them publishing at a set total rate.
/// Publishers are members too, so every message has M recipients, its publisher among them.
struct FanoutRun {
    let host: String
    let port: Int
    let rooms: Int
    let members: Int
    let publishers: Int
    let rate: Double
    let duration: Double
    let drain: Double
    let connectConcurrency: Int
    let progress: Bool

    func run(group: MultiThreadedEventLoopGroup, http: HTTPClient) async throws -> FanoutReport {
        let setup = SetupClient(http: http, baseURL: "http://\(host):\(port)")
        let loops = Array(group.makeIterator())
        var loopStats: [NIOLoopBound<LoopStats>] = []
        for loop in loops {
            loopStats.append(try await loop.submit { NIOLoopBound(LoopStats(), eventLoop: loop) }.get())
        }

        // Setup over HTTP: rooms, then one user per member (names unique to this run).
        let runID = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        var roomIDs: [Int] = []
        for _ in 0..<rooms { roomIDs.append(try await setup.createRoom()) }
        let slots = (0..<rooms).flatMap { room in (0..<members).map { (room: room, member: $0) } }
        let names = slots.map { "b\(runID)r\($0.room)m\($0.member)" }
        try await forEach(slots.indices, concurrency: 16) { try await setup.createUser(names[$0]) }
        status("created \(rooms) room(s) and \(slots.count) users; joining")

        // Join every member over WebSocket, spread evenly over the event loops.
        let connector = WebSocketConnector(host: host, port: port)
        let statsByLoop = loopStats
        let ids = roomIDs
        let joined = JoinedMembers()
        try await forEach(slots.indices, concurrency: connectConcurrency) { index in
            let slot = slots[index]
            let member = try await connector.join(
                room: slot.room, roomID: ids[slot.room], user: names[index], stats: statsByLoop[index % statsByLoop.count])
            joined.set(index, member)
        }
        let all = joined.sorted(count: slots.count)
        // The join is complete when the server lists every member (its own view, on any server).
        for roomID in roomIDs {
            let deadline = ContinuousClock.now + .seconds(15)
            while try await setup.connectedUsers(room: roomID) < members, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        status("\(all.count) members joined; publishing for \(duration) s")

        // Publish: publisher p is member p / R of room p % R, at its share of the total rate.
        let cpuBefore = CPUTime.now()
        let start = ContinuousClock.now
        let startNanoseconds = NIODeadline.now().uptimeNanoseconds
        let stopAt = NIODeadline.now() + .nanoseconds(Int64(duration * 1e9))
        for p in 0..<publishers {
            let member = all[(p % rooms) * members + p / rooms]
            let share = rate / Double(publishers)
            member.handler.eventLoop.execute { member.handler.value.startPublishing(id: p, rate: share, stopAt: stopAt) }
        }
        var elapsed = 0.0
        while elapsed < duration {
            try await Task.sleep(for: .seconds(min(1, duration - elapsed)))
            elapsed = (ContinuousClock.now - start).seconds
            if progress {
                let counts = try await collect(loopStats)
                status("fanout \(Int(elapsed.rounded()))/\(Int(duration.rounded())) s  published \(counts.totalPublished)  delivered \(counts.received) of \(expected(counts))", sameLine: true)
            }
        }
        if progress { FileHandle.standardError.write(Data("\n".utf8)) }
        let publishSeconds = (ContinuousClock.now - start).seconds
        try await Task.sleep(for: .seconds(drain))
        let cpu = CPUTime.now() - cpuBefore
        let counts = try await collect(loopStats)
        let wall = (ContinuousClock.now - start).seconds
        // Deliveries per second over the time they took: first publish to last delivery.
        let deliverySeconds = counts.lastReceivedAt > startNanoseconds ? Double(counts.lastReceivedAt - startNanoseconds) / 1e9 : publishSeconds

        // Close every connection with the close handshake.
        for member in all { member.handler.eventLoop.execute { member.handler.value.close(timeout: .seconds(2)) } }
        for member in all { try? await member.channel.closeFuture.get() }

        return FanoutReport(
            url: "http://\(host):\(port)", rooms: rooms, members: members, publishers: publishers, rate: rate,
            duration: duration, publishSeconds: publishSeconds, deliverySeconds: deliverySeconds, drainSeconds: drain, wallSeconds: wall,
            counts: counts, expected: expected(counts), cpu: cpu, threads: loops.count)
    }

    private func expected(_ counts: LoopStats.Snapshot) -> UInt64 {
        counts.published.values.reduce(0) { $0 + $1 * UInt64(members) }
    }

    private func collect(_ loopStats: [NIOLoopBound<LoopStats>]) async throws -> LoopStats.Snapshot {
        var total = LoopStats.Snapshot()
        for stats in loopStats { total.add(try await stats.eventLoop.submit { stats.value.snapshot }.get()) }
        return total
    }

    private func status(_ line: String, sameLine: Bool = false) {
        guard progress else { return }
        FileHandle.standardError.write(Data((sameLine ? "\r" + line : line + "\n").utf8))
    }

    /// Runs `body` for every index with at most `concurrency` in flight.
    private func forEach(_ indices: Range<Int>, concurrency: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
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
    private let members = Mutex<[Int: WebSocketConnector.Member]>([:])
    func set(_ index: Int, _ member: WebSocketConnector.Member) { members.withLock { $0[index] = member } }
    func sorted(count: Int) -> [WebSocketConnector.Member] { members.withLock { dict in (0..<count).compactMap { dict[$0] } } }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
