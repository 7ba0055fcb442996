import ArgumentParser

/// The load of a fanout run: rooms, members, publishers, rate, message size.
struct FanoutOptions: ParsableArguments {
    @Option(help: "Rooms.")
    var rooms = 1

    @Option(help: "Members per room (each a WebSocket).")
    var members = 100

    @Option(help: "Publishing members in all (spread over the rooms).")
    var publishers = 1

    @Option(help: "Messages per second, all publishers together.")
    var rate: Double = 100

    @Option(help: "Seconds of publishing.")
    var duration: Double = 10

    @Option(help: "Longest wait, in seconds, for the last deliveries after publishing stops (ends once all arrived).")
    var drain: Double = 10

    @Option(help: "Bytes of text per message (the JSON around it adds about 80).")
    var messageBytes = 100

    @Flag(help: "All publishers send at the same instants (P messages at once every P / rate seconds) instead of staggered evenly.")
    var alignedPublishers = false

    func validate() throws {
        guard rooms >= 1, members >= 1 else { throw ValidationError("--rooms and --members must be at least 1") }
        guard (1...(rooms * members)).contains(publishers) else { throw ValidationError("--publishers must be between 1 and rooms x members") }
        guard rate > 0, duration > 0, drain >= 0 else { throw ValidationError("--rate and --duration must be positive, --drain not negative") }
        guard (40...16_000).contains(messageBytes) else { throw ValidationError("--message-bytes must be between 40 and 16000") }
    }

    func run(_ scenario: String, on server: ServerOptions, offerDeflate: Bool) throws -> FanoutRun {
        FanoutRun(
            scenario: scenario, endpoints: try server.endpoints(), servers: server.servers, rooms: rooms, members: members,
            publishers: publishers, alignedPublishers: alignedPublishers, rate: rate, duration: duration, drain: drain, messageBytes: messageBytes,
            offerDeflate: offerDeflate, connectConcurrency: server.connectConcurrency)
    }
}
