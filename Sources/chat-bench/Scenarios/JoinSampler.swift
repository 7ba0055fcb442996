import Histogram

/// The unloaded cost of a join, for `rooms`: after the measured run, one member at a time
/// joins a room of its own (so nothing else is in flight), first as the room's first member on
/// a server (the server subscribes), then a second member on the same server once the first is
/// live. Each is timed by its join probe, like the bulk joins.
struct JoinSampler {
    let endpoints: [ServerEndpoint]
    /// Rooms per server to sample.
    let samples: Int
    let timeout: Double

    struct Figures {
        var firstOnServer: Histogram<UInt64>
        var later: Histogram<UInt64>
    }

    func run(_ client: BenchClient, runID: String) async throws -> Figures {
        // The bulk joins' figures are in the report already; these start from nothing.
        for stats in client.loopStats {
            try await stats.eventLoop.submit {
                stats.value.figures.firstJoinLatency.reset()
                stats.value.figures.laterJoinLatency.reset()
            }.get()
        }
        let setup = client.setup(endpoints[0])
        var seats: [BenchClient.Seat] = []
        for sample in 0..<samples {
            let roomID = try await setup.createRoom()
            for (server, endpoint) in endpoints.enumerated() {
                for later in [false, true] {
                    seats.append(
                        BenchClient.Seat(
                            room: -1, roomID: roomID, user: "j\(runID)s\(sample)v\(server)\(later ? "b" : "a")", endpoint: endpoint,
                            probeFirstOnServer: !later))
                }
            }
        }
        try await client.createUsers(seats.map(\.user), on: endpoints[0])
        var joined: [WebSocketConnector.Member] = []
        for seat in seats {
            let (members, failures) = try await client.join([seat], concurrency: 1, offerDeflate: false)
            guard let member = members.first ?? nil else { throw SetupClient.Failure(description: "a sampled join failed: \(failures.first ?? "")") }
            joined.append(member)
            try await waitForProbe(of: member)
        }
        let counts = try await client.collect()
        await client.close(joined)
        return Figures(firstOnServer: counts.firstJoinLatency, later: counts.laterJoinLatency)
    }

    /// Polls the member itself, not every loop's figures: cheap enough to ask every millisecond.
    private func waitForProbe(of member: WebSocketConnector.Member) async throws {
        let deadline = ContinuousClock.now + .seconds(timeout)
        while try await !member.handler.eventLoop.submit({ member.handler.value.probeEchoed }).get() {
            guard ContinuousClock.now < deadline else {
                throw SetupClient.Failure(description: "a sampled join's probe did not come back within \(format(timeout)) s")
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}
