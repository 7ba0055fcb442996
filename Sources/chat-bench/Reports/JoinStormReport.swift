/// Every figure of a `join-storm` run.
struct JoinStormReport: BenchReport {
    let scenario = "join-storm"
    let urls: [String]
    let clients: Int
    let history: Int
    let deflateOffered: Bool
    let joined: Int
    /// Clients that received the room's last history message.
    let historiesComplete: Int
    let joinFailures: Int
    /// Clients that joined but did not get the whole history in time.
    let incomplete: Int
    let firstError: String?
    let closedByServer: UInt64
    let stormSeconds: Double
    /// From before each client's TCP connect to its last history message.
    let joinMs: LatencyFigures
    let client: ClientUsage
    let serverCPUSeconds: Double?
    /// Server plus client CPU per history message delivered to the storm's clients (`--server-pid`).
    var serverPlusClient: WholeMachineCPU? = nil

    var errors: Int { joinFailures + incomplete }

    enum CodingKeys: String, CodingKey {
        case scenario, urls, clients, history, deflateOffered = "deflate_offered", joined, historiesComplete = "histories_complete"
        case joinFailures = "join_failures", incomplete, errors, firstError = "first_error", closedByServer = "closed_by_server"
        case stormSeconds = "storm_seconds", joinMs = "join_ms", client, serverCPUSeconds = "server_cpu_seconds"
        case serverPlusClient = "server_plus_client"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(scenario, forKey: .scenario)
        try container.encode(urls, forKey: .urls)
        try container.encode(clients, forKey: .clients)
        try container.encode(history, forKey: .history)
        try container.encode(deflateOffered, forKey: .deflateOffered)
        try container.encode(joined, forKey: .joined)
        try container.encode(historiesComplete, forKey: .historiesComplete)
        try container.encode(joinFailures, forKey: .joinFailures)
        try container.encode(incomplete, forKey: .incomplete)
        try container.encode(errors, forKey: .errors)
        try container.encodeIfPresent(firstError, forKey: .firstError)
        try container.encode(closedByServer, forKey: .closedByServer)
        try container.encode(stormSeconds, forKey: .stormSeconds)
        try container.encode(joinMs, forKey: .joinMs)
        try container.encode(client, forKey: .client)
        try container.encodeIfPresent(serverCPUSeconds, forKey: .serverCPUSeconds)
        try container.encodeIfPresent(serverPlusClient, forKey: .serverPlusClient)
    }

    var summary: String {
        var lines = [
            "join-storm against \(urls.joined(separator: ", ")): \(clients) clients join one room with \(history) messages of history at once\(deflateOffered ? ", offering permessage-deflate" : "")",
            "  history       \(historiesComplete) of \(clients) clients got all of it; \(errors) errors (\(joinFailures) joins failed, \(incomplete) incomplete)\(firstError.map { "; first: \($0)" } ?? "")",
            "  join ms       \(joinMs.line)   (connect to last history message)",
            "  storm         \(format(stormSeconds, 2)) s; chat-bench \(format(client.cpuSeconds, 2)) CPU s",
        ]
        if let serverCPUSeconds { lines.append("  server        \(format(serverCPUSeconds, 2)) CPU s") }
        if let serverPlusClient { lines.append("  \(serverPlusClient.line) (a delivery: a history message at a join)") }
        return lines.joined(separator: "\n")
    }
}
