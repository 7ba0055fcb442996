import Foundation
import NIOCore

/// The `rooms` scenario: R rooms of M members, member 0 of each publishing at its room's
/// rate, members placed round-robin over the servers (``RoomsCommand`` says how). What a
/// member receives is checked per room by the room's `seq`; the join of each member is timed
/// by a probe it posts, so a room's first join on a server (the subscription) can be set
/// beside a later one.
struct RoomsRun {
    let endpoints: [ServerEndpoint]
    let servers: ServerProcesses
    /// One per endpoint, or none.
    let adminURLs: [String]
    let redis: RedisServers
    let rooms: Int
    let members: Int
    let ratePerRoom: Double
    let warmup: Double
    let duration: Double
    let drain: Double
    let messageBytes: Int
    let joinTimeout: Double
    let connectConcurrency: Int
    /// Rooms per server whose joins are timed one at a time after the run (``JoinSampler``).
    let joinSamples: Int

    /// The server member `member` of room `room` joins.
    static func server(ofRoom room: Int, member: Int, servers: Int) -> Int { (room + member) % servers }

    /// Whether that member is the first of its room on its server.
    static func isFirstOnServer(member: Int, servers: Int) -> Bool { member < servers }

    func run(_ client: BenchClient) async throws -> RoomsReport {
        let setup = client.setup(endpoints[0])
        let runID = BenchClient.runID()
        var roomIDs: [Int] = []
        for index in 0..<rooms {
            roomIDs.append(try await setup.createRoom())
            if index % 100 == 99 { client.status("created \(index + 1) of \(rooms) rooms", sameLine: true) }
        }
        let seats = (0..<rooms * members).map { index in
            let (room, member) = (index / members, index % members)
            return BenchClient.Seat(
                room: room, roomID: roomIDs[room], user: "b\(runID)r\(room)m\(member)",
                endpoint: endpoints[Self.server(ofRoom: room, member: member, servers: endpoints.count)],
                probeFirstOnServer: Self.isFirstOnServer(member: member, servers: endpoints.count))
        }
        try await client.createUsers(seats.map(\.user), on: endpoints[0])
        client.status("created \(rooms) room(s) and \(seats.count) users; joining the first member of each room on each server")

        // Round 1: the joins that make a server subscribe; round 2 once they are all live.
        let firstSeats = seats.indices.filter { seats[$0].probeFirstOnServer == true }
        let laterSeats = seats.indices.filter { seats[$0].probeFirstOnServer == false }
        var joined = [WebSocketConnector.Member?](repeating: nil, count: seats.count)
        for (round, indices) in [firstSeats, laterSeats].enumerated() where !indices.isEmpty {
            let (joinedNow, failures) = try await client.join(indices.map { seats[$0] }, concurrency: connectConcurrency, offerDeflate: false)
            if let failure = failures.first { throw SetupClient.Failure(description: "\(failures.count) joins failed; the first: \(failure)") }
            for (slot, index) in indices.enumerated() { joined[index] = joinedNow[slot] }
            try await waitForProbes(firstSeats.count + (round == 1 ? laterSeats.count : 0), client: client)
            if round == 0, !laterSeats.isEmpty { client.status("\(firstSeats.count) first joins live; joining the other \(laterSeats.count)") }
        }
        let all = joined.compactMap { $0 }

        // Warm-up and window: publishing starts now; what was sent before `countFrom` is not counted.
        let startDeadline = NIODeadline.now()
        let countFrom = startDeadline + .nanoseconds(Int64(warmup * 1e9))
        let stopAt = countFrom + .nanoseconds(Int64(duration * 1e9))
        for stats in client.loopStats {
            try await stats.eventLoop.submit { stats.value.countFrom = countFrom.uptimeNanoseconds }.get()
        }
        let totalRate = ratePerRoom * Double(rooms)
        for room in 0..<rooms {
            let publisher = all[room * members]
            let (rate, messageBytes) = (ratePerRoom, messageBytes)
            let firstAt = startDeadline + .nanoseconds(Int64(Double(room) / totalRate * 1e9))
            publisher.handler.eventLoop.execute {
                publisher.handler.value.startPublishing(id: room, rate: rate, firstAt: firstAt, stopAt: stopAt, messageBytes: messageBytes)
            }
        }
        client.status("\(all.count) members joined; \(rooms) publishers at \(significant(ratePerRoom)) msg/s each; warm-up \(format(warmup)) s")
        try await sleep(until: countFrom)
        let cpuBefore = CPUTime.now()
        let serverCPUBefore = servers.isEmpty ? CPUTime(user: 0, system: 0) : try servers.cpuTime()
        let redisCPUBefore = redis.isEmpty ? CPUTime(user: 0, system: 0) : try await redis.cpuTime(on: client.group)
        let measureStart = ContinuousClock.now
        while ContinuousClock.now < measureStart + .seconds(duration) {
            try await Task.sleep(for: min(.seconds(1), measureStart + .seconds(duration) - ContinuousClock.now))
            if client.progress {
                let counts = try await client.collect()
                let elapsed = (ContinuousClock.now - measureStart).seconds
                client.status(
                    "rooms \(Int(elapsed.rounded()))/\(Int(duration.rounded())) s  published \(counts.totalPublished)  delivered \(counts.received) of \(expected(counts))",
                    sameLine: true)
            }
        }
        client.endProgressLine()
        // A publisher whose last message is due just before the stop time may run late on a busy
        // machine: count nothing as lost before every publisher has sent its last one.
        let drainDeadline = ContinuousClock.now + .seconds(drain)
        while try await publishersDone(client) < rooms, ContinuousClock.now < drainDeadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        var counts = try await client.collect()
        while counts.received < expected(counts), ContinuousClock.now < drainDeadline {
            try await Task.sleep(for: .milliseconds(20))
            counts = try await client.collect()
        }
        let cpu = CPUTime.now() - cpuBefore
        let serverCPU = servers.isEmpty ? CPUTime(user: 0, system: 0) : try servers.cpuTime() - serverCPUBefore
        let redisCPU = redis.isEmpty ? nil : try await redis.cpuTime(on: client.group) - redisCPUBefore
        let wall = (ContinuousClock.now - measureStart).seconds
        let countFromNanoseconds = countFrom.uptimeNanoseconds
        let deliverySeconds = counts.lastReceivedAt > countFromNanoseconds ? Double(counts.lastReceivedAt - countFromNanoseconds) / 1e9 : duration

        // Per room: what its members received, against what its publisher sent.
        var receivedByRoom = [UInt64](repeating: 0, count: rooms)
        for (index, member) in joined.enumerated() {
            guard let member else { continue }
            receivedByRoom[index / members] += try await member.handler.eventLoop.submit { member.handler.value.receivedCount }.get()
        }
        // Per server, while every member is still joined.
        var serverFigures: [RoomsReport.Server] = []
        for (index, endpoint) in endpoints.enumerated() {
            let placed = seats.filter { $0.endpoint == endpoint }
            let metrics = adminURLs.isEmpty ? nil : try await ServerMetrics.read(adminURLs[index], http: client.http)
            serverFigures.append(
                RoomsReport.Server(
                    url: endpoint.baseURL, adminURL: adminURLs.isEmpty ? nil : adminURLs[index], members: placed.count,
                    roomsWithMembers: Set(placed.map(\.room)).count, metrics: metrics))
        }
        await client.close(all)
        let unloaded = joinSamples > 0
            ? try await JoinSampler(endpoints: endpoints, samples: joinSamples, timeout: joinTimeout).run(client, runID: runID) : nil
        return RoomsReport(
            urls: endpoints.map(\.baseURL), rooms: rooms, members: members, ratePerRoom: ratePerRoom, warmup: warmup, duration: duration,
            messageBytes: messageBytes, deliverySeconds: deliverySeconds, wallSeconds: wall, counts: counts,
            publishedByRoom: (0..<rooms).map { counts.published[$0] ?? 0 }, receivedByRoom: receivedByRoom, servers: serverFigures,
            client: ClientUsage(cpu: cpu, wallSeconds: wall, threads: client.threads),
            serverCPU: servers.isEmpty ? nil : (pids: servers.processes.map(\.pid), cpu: serverCPU),
            redisCPU: redisCPU.map { (urls: redis.servers.map(\.url), cpu: $0) }, unloadedJoins: unloaded)
    }

    private func expected(_ counts: LoopStats.Snapshot) -> UInt64 {
        counts.published.values.reduce(0) { $0 + $1 * UInt64(members) }
    }

    private func publishersDone(_ client: BenchClient) async throws -> Int {
        var done = 0
        for stats in client.loopStats { done += try await stats.eventLoop.submit { stats.value.publishersDone }.get() }
        return done
    }

    /// Waits until `count` join probes came back to their members (each member is then live).
    private func waitForProbes(_ count: Int, client: BenchClient) async throws {
        let deadline = ContinuousClock.now + .seconds(joinTimeout)
        while true {
            var echoed = 0
            for stats in client.loopStats { echoed += try await stats.eventLoop.submit { stats.value.probesEchoed }.get() }
            if echoed >= count { return }
            guard ContinuousClock.now < deadline else {
                throw SetupClient.Failure(
                    description: "\(count - echoed) of \(count) joined members never got their own join probe back within \(format(joinTimeout)) s (several servers must share one Redis)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    private func sleep(until deadline: NIODeadline) async throws {
        let now = NIODeadline.now()
        if deadline > now { try await Task.sleep(for: .nanoseconds((deadline - now).nanoseconds)) }
    }
}
