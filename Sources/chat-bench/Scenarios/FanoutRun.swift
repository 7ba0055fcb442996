import Foundation
import NIOCore

/// The `fanout` scenario (and `deflate` and `cross-server`, which are fanout runs): R rooms of
/// M members, P of them publishing at a set total rate. Publishers are members too, so every
/// message has M recipients, its publisher among them. Members are dealt over the servers in
/// turn, so with several URLs every room spans every server.
struct FanoutRun {
    var scenario = "fanout"
    let endpoints: [ServerEndpoint]
    let servers: ServerProcesses
    let rooms: Int
    let members: Int
    let publishers: Int
    /// All publishers on one clock instead of staggered.
    var alignedPublishers = false
    let rate: Double
    let duration: Double
    /// Longest wait after publishing for the last deliveries (it ends early once all arrived).
    let drain: Double
    let messageBytes: Int
    let offerDeflate: Bool
    let connectConcurrency: Int

    func run(_ client: BenchClient) async throws -> FanoutReport {
        let setupServer = endpoints[0]
        let setup = client.setup(setupServer)

        // Setup over HTTP on the first server: rooms, then one user per member.
        let runID = BenchClient.runID()
        var roomIDs: [Int] = []
        for _ in 0..<rooms { roomIDs.append(try await setup.createRoom()) }
        let seats = (0..<rooms * members).map { index in
            BenchClient.Seat(
                room: index / members, roomID: roomIDs[index / members], user: "b\(runID)r\(index / members)m\(index % members)",
                endpoint: endpoints[index % endpoints.count])
        }
        try await client.createUsers(seats.map(\.user), on: setupServer)
        client.status("created \(rooms) room(s) and \(seats.count) users; joining\(offerDeflate ? " (offering permessage-deflate)" : "")")

        let (joined, failures) = try await client.join(seats, concurrency: connectConcurrency, offerDeflate: offerDeflate)
        if let failure = failures.first { throw SetupClient.Failure(description: "\(failures.count) joins failed; the first: \(failure)") }
        let all = joined.compactMap { $0 }
        // Publishing starts once the server lists every member (any server's view: presence is shared).
        for roomID in roomIDs where !(try await client.waitForPresence(roomID: roomID, count: members, on: setupServer)) {
            throw SetupClient.Failure(
                description: "room \(roomID) does not list all \(members) members after 30 s (several servers must share one Redis)")
        }
        client.status("\(all.count) members joined; publishing for \(format(duration)) s")

        // Publish: publisher p is member p / R of room p % R, at its share of the total rate.
        // Their clocks are staggered evenly (publisher p starts p / rate seconds in), so the
        // total rate arrives as a steady stream rather than P messages at once every P / rate s.
        let cpuBefore = CPUTime.now()
        let serverCPUBefore = servers.isEmpty ? CPUTime(user: 0, system: 0) : try servers.cpuTime()
        let start = ContinuousClock.now
        let startDeadline = NIODeadline.now()
        let startNanoseconds = startDeadline.uptimeNanoseconds
        let stopAt = startDeadline + .nanoseconds(Int64(duration * 1e9))
        for p in 0..<publishers {
            let member = all[(p % rooms) * members + p / rooms]
            let share = rate / Double(publishers)
            let messageBytes = messageBytes
            let firstAt = alignedPublishers ? startDeadline : startDeadline + .nanoseconds(Int64(Double(p) / rate * 1e9))
            member.handler.eventLoop.execute {
                member.handler.value.startPublishing(id: p, rate: share, firstAt: firstAt, stopAt: stopAt, messageBytes: messageBytes)
            }
        }
        var elapsed = 0.0
        while elapsed < duration {
            try await Task.sleep(for: .seconds(min(1, duration - elapsed)))
            elapsed = (ContinuousClock.now - start).seconds
            if client.progress {
                let counts = try await client.collect()
                client.status(
                    "\(scenario) \(Int(elapsed.rounded()))/\(Int(duration.rounded())) s  published \(counts.totalPublished)  delivered \(counts.received) of \(expected(counts))",
                    sameLine: true)
            }
        }
        client.endProgressLine()
        let publishSeconds = (ContinuousClock.now - start).seconds
        var counts = try await client.collect()
        let drainDeadline = ContinuousClock.now + .seconds(drain)
        while counts.received < expected(counts), ContinuousClock.now < drainDeadline {
            try await Task.sleep(for: .milliseconds(20))
            counts = try await client.collect()
        }
        let cpu = CPUTime.now() - cpuBefore
        let serverCPU = servers.isEmpty ? CPUTime(user: 0, system: 0) : try servers.cpuTime() - serverCPUBefore
        let wall = (ContinuousClock.now - start).seconds
        // Deliveries per second over the time they took: first publish to last delivery.
        let deliverySeconds = counts.lastReceivedAt > startNanoseconds ? Double(counts.lastReceivedAt - startNanoseconds) / 1e9 : publishSeconds

        await client.close(all)
        return FanoutReport(
            scenario: scenario, urls: endpoints.map(\.baseURL), rooms: rooms, members: members, publishers: publishers,
            alignedPublishers: alignedPublishers, rate: rate, duration: duration, messageBytes: messageBytes, deflateOffered: offerDeflate, publishSeconds: publishSeconds,
            deliverySeconds: deliverySeconds, wallSeconds: wall, counts: counts, expected: expected(counts),
            client: ClientUsage(cpu: cpu, wallSeconds: wall, threads: client.threads),
            server: servers.isEmpty
                ? nil : ServerCPU(pids: servers.processes.map(\.pid), cpu: serverCPU, wallSeconds: wall, deliveries: counts.received),
            serverPlusClient: servers.isEmpty ? nil : WholeMachineCPU(server: serverCPU, client: cpu, deliveries: counts.received))
    }

    private func expected(_ counts: LoopStats.Snapshot) -> UInt64 {
        counts.published.values.reduce(0) { $0 + $1 * UInt64(members) }
    }
}
