import Foundation
import NIOCore

/// The `join-storm` scenario: a room gets `history` messages from one member, then `clients`
/// members join it all at once. Each times, from before its TCP connect, how long until the
/// last history message arrives: what a crowd arriving in a busy room waits.
struct JoinStormRun {
    let endpoints: [ServerEndpoint]
    let servers: ServerProcesses
    let clients: Int
    let history: Int
    let seedRate: Double
    let timeout: Double
    let offerDeflate: Bool

    func run(_ client: BenchClient) async throws -> JoinStormReport {
        let setup = client.setup(endpoints[0])
        let runID = BenchClient.runID()
        let roomID = try await setup.createRoom()
        let seeder = "j\(runID)seed"
        let names = (0..<clients).map { "j\(runID)n\($0)" }
        try await client.createUsers([seeder] + names, on: endpoints[0])

        // The history: one member writes it, below the server's rate limit, and sees it all back.
        let (seeded, seedFailures) = try await client.join(
            [.init(room: 0, roomID: roomID, user: seeder, endpoint: endpoints[0])], concurrency: 1, offerDeflate: false)
        guard let writer = seeded.first ?? nil else { throw SetupClient.Failure(description: "the history writer could not join: \(seedFailures)") }
        client.status("writing \(history) messages of history at \(format(seedRate)) msg/s")
        let history = UInt64(history)
        let seedRate = seedRate
        writer.handler.eventLoop.execute {
            writer.handler.value.startPublishing(
                id: 0, rate: seedRate, stopAt: .now() + .hours(1), count: history, messageBytes: 100)
        }
        let seedDeadline = ContinuousClock.now + .seconds(Double(history) / seedRate + 30)
        var lastSeq: UInt64?
        while ContinuousClock.now < seedDeadline {
            let (count, seq) = try await writer.handler.eventLoop.submit { (writer.handler.value.receivedCount, writer.handler.value.lastSeq) }.get()
            if count >= history { lastSeq = seq; break }
            try await Task.sleep(for: .milliseconds(50))
        }
        guard let lastSeq else { throw SetupClient.Failure(description: "the history writer did not see its \(history) messages come back") }

        // The storm: every client at once.
        client.status("\(clients) clients join at once")
        let seats = names.enumerated().map { index, name in
            BenchClient.Seat(room: 0, roomID: roomID, user: name, endpoint: endpoints[index % endpoints.count], historyLastSeq: lastSeq)
        }
        let cpuBefore = CPUTime.now()
        let serverCPUBefore = servers.isEmpty ? CPUTime(user: 0, system: 0) : try servers.cpuTime()
        let start = ContinuousClock.now
        let (joined, failures) = try await client.join(seats, concurrency: clients, offerDeflate: offerDeflate)
        let deadline = start + .seconds(timeout)
        // The writer saw the history live, not on join: only the storm's clients count.
        var counts = try await client.collect()
        while Int(counts.historiesComplete) + failures.count < clients, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
            counts = try await client.collect()
        }
        let stormSeconds = (ContinuousClock.now - start).seconds
        let cpu = CPUTime.now() - cpuBefore
        let serverCPU = servers.isEmpty ? CPUTime(user: 0, system: 0) : try servers.cpuTime() - serverCPUBefore
        // History messages the storm's clients got (the writer's own, seen live before, are not the storm's).
        let stormDeliveries = counts.received > history ? counts.received - history : 0
        let members = joined.compactMap { $0 }
        await client.close(members + [writer])

        let incomplete = members.count - Int(counts.historiesComplete)
        return JoinStormReport(
            urls: endpoints.map(\.baseURL), clients: clients, history: Int(history), deflateOffered: offerDeflate,
            joined: members.count, historiesComplete: Int(counts.historiesComplete), joinFailures: failures.count,
            incomplete: max(incomplete, 0), firstError: failures.first, closedByServer: counts.closedByServer,
            stormSeconds: stormSeconds, joinMs: LatencyFigures(microseconds: counts.joinLatency),
            client: ClientUsage(cpu: cpu, wallSeconds: stormSeconds, threads: client.threads),
            serverCPUSeconds: servers.isEmpty ? nil : serverCPU.total,
            serverPlusClient: servers.isEmpty ? nil : WholeMachineCPU(server: serverCPU, client: cpu, deliveries: stormDeliveries))
    }
}
