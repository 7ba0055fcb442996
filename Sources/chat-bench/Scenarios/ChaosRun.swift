import Foundation
import NIOCore

/// The `chaos` scenario: `rooms` rooms of `members` chat.v2 members each, dealt over the
/// servers, post at `rate` while whatever drives the run breaks things; then posting stops,
/// the members get `settle` seconds to have every post acknowledged and every acknowledged
/// post of their room received, and the run counts what is still missing or came twice.
struct ChaosRun {
    let endpoints: [ServerEndpoint]
    let rooms: Int
    let members: Int
    let settings: ChaosMember.Settings
    let duration: Double
    let stopFile: String?
    let settle: Double
    let acksFile: String?
    let statusInterval: Double

    func run(_ client: BenchClient) async throws -> ChaosReport {
        let setup = client.setup(endpoints[0])
        let runID = BenchClient.runID()
        var roomIDs: [Int] = []
        for _ in 0..<rooms { roomIDs.append(try await setup.createRoom()) }
        let names = (0..<rooms).flatMap { room in (0..<members).map { "c\(runID)r\(room)m\($0)" } }
        try await client.createUsers(names, on: endpoints[0])

        var all: [NIOLoopBound<ChaosMember>] = []
        for (index, name) in names.enumerated() {
            let loop = client.loopStats[index % client.loopStats.count].eventLoop
            let (roomID, token, endpoints, settings) = (roomIDs[index / members], client.tokens.token(of: name), endpoints, settings)
            all.append(try await loop.submit {
                NIOLoopBound(ChaosMember(roomID: roomID, user: name, token: token, endpoints: endpoints, firstEndpoint: index, settings: settings, loop: loop), eventLoop: loop)
            }.get())
        }
        for member in all { member.eventLoop.execute { member.value.connect() } }
        let joinDeadline = ContinuousClock.now + .seconds(30)
        while try await Self.figures(of: all).contains(where: { !$0.connected }) {
            guard ContinuousClock.now < joinDeadline else {
                let failures = try await Self.figures(of: all).compactMap(\.lastJoinError)
                throw SetupClient.Failure(description: "not every member could join: \(failures.first ?? "?")")
            }
            try await Task.sleep(for: .milliseconds(50))
        }

        client.status("chaos: \(all.count) members in \(rooms) rooms post \(format(settings.rate)) posts/s each")
        let start = ContinuousClock.now
        for member in all { member.eventLoop.execute { member.value.startPosting() } }
        let end = start + .seconds(duration)
        var nextStatus = ContinuousClock.now
        while ContinuousClock.now < end, !(stopFile.map { FileManager.default.fileExists(atPath: $0) } ?? false) {
            try await status(of: all, client: client, next: &nextStatus)
            try await Task.sleep(for: .milliseconds(100))
        }
        let postingSeconds = (ContinuousClock.now - start).seconds
        for member in all { member.eventLoop.execute { member.value.stopPosting() } }

        // Settling: every post answered, every acknowledged post at every member of its room.
        let settleStart = ContinuousClock.now
        var outcome = try await Self.outcome(of: all)
        while !outcome.settled, ContinuousClock.now < settleStart + .seconds(settle) {
            try await status(of: all, client: client, next: &nextStatus)
            try await Task.sleep(for: .milliseconds(200))
            outcome = try await Self.outcome(of: all)
        }
        let settleSeconds = (ContinuousClock.now - settleStart).seconds
        for member in all { member.eventLoop.execute { member.value.close() } }
        let closeDeadline = ContinuousClock.now + .seconds(3)  // the close handshakes, answered or timed out
        while ContinuousClock.now < closeDeadline, try await Self.figures(of: all).contains(where: \.connected) {
            try await Task.sleep(for: .milliseconds(20))
        }
        if let acksFile { try outcome.writeAcks(to: acksFile) }
        return ChaosReport(
            urls: endpoints.map(\.baseURL), roomIDs: roomIDs, membersPerRoom: members, rate: settings.rate,
            postingSeconds: postingSeconds, settleSeconds: settleSeconds, outcome: outcome, figures: try await Self.figures(of: all))
    }

    /// One `chaos status: {…}` line on stderr every `statusInterval` (a driver reads them).
    private func status(of all: [NIOLoopBound<ChaosMember>], client: BenchClient, next: inout ContinuousClock.Instant) async throws {
        guard client.progress, ContinuousClock.now >= next else { return }
        next = ContinuousClock.now + .seconds(statusInterval)
        let status = ChaosStatus(try await Self.figures(of: all))
        client.status("chaos status: " + (try status.json()))
    }

    static func figures(of all: [NIOLoopBound<ChaosMember>]) async throws -> [ChaosMemberFigures] {
        var figures: [ChaosMemberFigures] = []
        for member in all { figures.append(try await member.eventLoop.submit { member.value.snapshot }.get()) }
        return figures
    }

    static func outcome(of all: [NIOLoopBound<ChaosMember>]) async throws -> ChaosOutcome {
        var outcome = ChaosOutcome()
        for member in all {
            let (room, acked, received, pending) = try await member.eventLoop.submit {
                (member.value.roomID, member.value.acked, member.value.receivedIDs, member.value.snapshot.unacknowledged)
            }.get()
            outcome.add(room: room, acked: acked, received: received, unacknowledged: pending)
        }
        return outcome
    }
}

/// What the members hold together at one moment: every acknowledged post per room, and what
/// each member of the room received of them.
struct ChaosOutcome: Sendable {
    /// Per room id: post id → the position its ack named.
    private(set) var acked: [Int: [String: ChaosPosition]] = [:]
    private var received: [(room: Int, ids: Set<String>)] = []
    private(set) var unacknowledged = 0

    mutating func add(room: Int, acked: [String: ChaosPosition], received: Set<String>, unacknowledged: Int) {
        self.acked[room, default: [:]].merge(acked) { first, _ in first }
        self.received.append((room, received))
        self.unacknowledged += unacknowledged
    }

    var acknowledged: Int { acked.values.reduce(0) { $0 + $1.count } }

    /// Acknowledged posts of a room that one of its members never received, summed over members.
    var missingAtMembers: Int {
        received.reduce(0) { total, member in
            total + (acked[member.room] ?? [:]).keys.reduce(0) { $0 + (member.ids.contains($1) ? 0 : 1) }
        }
    }

    var settled: Bool { unacknowledged == 0 && missingAtMembers == 0 }

    /// The acknowledged posts as a JSON array of `{"room","id","epoch","seq"}`, for a driver
    /// that checks them against the chat log.
    func writeAcks(to path: String) throws {
        struct Ack: Encodable {
            let room: Int
            let id: String
            let epoch: String
            let seq: Int64
        }
        let acks = acked.flatMap { room, posts in posts.map { Ack(room: room, id: $0.key, epoch: $0.value.epoch, seq: $0.value.seq) } }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(acks.sorted { ($0.room, $0.id) < ($1.room, $1.id) }).write(to: URL(fileURLWithPath: path))
    }
}
