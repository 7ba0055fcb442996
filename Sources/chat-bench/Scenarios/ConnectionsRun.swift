import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// The `connections` scenario: N joined WebSockets that say nothing. The server's resident
/// memory is read before the joins (users and rooms already created) and after holding them
/// open, so the difference is what the connections cost.
struct ConnectionsRun {
    let endpoints: [ServerEndpoint]
    let servers: ServerProcesses
    let connections: Int
    let rooms: Int
    let hold: Double
    let offerDeflate: Bool
    let connectConcurrency: Int

    func run(_ client: BenchClient) async throws -> ConnectionsReport {
        let setup = client.setup(endpoints[0])
        let runID = BenchClient.runID()
        var roomIDs: [Int] = []
        for _ in 0..<rooms { roomIDs.append(try await setup.createRoom()) }
        let seats = (0..<connections).map { index in
            BenchClient.Seat(
                room: index % rooms, roomID: roomIDs[index % rooms], user: "c\(runID)n\(index)", endpoint: endpoints[index % endpoints.count])
        }
        try await client.createUsers(seats.map(\.user), on: endpoints[0])
        client.status("created \(rooms) room(s) and \(connections) users; opening \(connections) connections")

        let me = ServerProcess(pid: getpid())
        let clientBefore = try me.residentBytes()
        let serverBefore = servers.isEmpty ? nil : try servers.residentBytes()
        let start = ContinuousClock.now
        let (joined, failures) = try await client.join(seats, concurrency: connectConcurrency, offerDeflate: offerDeflate)
        let all = joined.compactMap { $0 }
        // Open means the server lists them: joins finish their presence write after the 101.
        var listed = true
        for (room, roomID) in roomIDs.enumerated() {
            let expected = seats.indices.filter { seats[$0].room == room && joined[$0] != nil }.count
            if !(try await client.waitForPresence(roomID: roomID, count: expected, on: endpoints[0])) { listed = false }
        }
        let openSeconds = (ContinuousClock.now - start).seconds
        client.status("\(all.count) connections open in \(format(openSeconds, 2)) s; holding them for \(format(hold)) s")
        try await Task.sleep(for: .seconds(hold))
        let serverAfter = servers.isEmpty ? nil : try servers.residentBytes()
        let clientAfter = try me.residentBytes()
        let counts = try await client.collect()
        await client.close(all)

        return ConnectionsReport(
            urls: endpoints.map(\.baseURL), connections: connections, rooms: rooms, deflateOffered: offerDeflate, opened: all.count,
            errors: failures.count + (listed ? 0 : 1), firstError: failures.first ?? (listed ? nil : "the server did not list every member"),
            closedByServer: counts.closedByServer, secondsToOpen: openSeconds, holdSeconds: hold,
            server: serverBefore.flatMap { before in
                serverAfter.map { ConnectionsReport.Memory(pids: servers.processes.map(\.pid), before: before, after: $0, connections: all.count) }
            },
            client: ConnectionsReport.Memory(pids: [getpid()], before: clientBefore, after: clientAfter, connections: all.count))
    }
}
