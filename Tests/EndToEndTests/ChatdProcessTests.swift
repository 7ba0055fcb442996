import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import Testing

/// The `chatd` executable as an operator runs it: flags, environment, logs, signals.
@Suite(.timeLimit(.minutes(2)))
struct ChatdProcessTests {
    @Test func servesInMemoryLogsItsBackendsAndStopsGracefullyOnSIGTERM() async throws {
        let chatd = try ChatdProcess(["--host", "127.0.0.1"], environment: ["CHATD_PORT": "0"])
        let port = try await chatd.listeningPort()
        #expect(chatd.output.contains("in-memory"), "the log says which backends serve")

        #expect(chatd.output.contains("auth: token") || chatd.output.contains("auth=token"), "tokens by default")
        #expect(try await LoopbackHTTP.request(.POST, port: port, "/v1/chatrooms", body: "").status == 401, "rooms need a token")
        let token = try await LoopbackHTTP.createUser("Op", port: port)
        #expect(try await LoopbackHTTP.createRoom(port: port, token: token) == 1)
        let client = try await ChatClient.join(LoopbackHTTP.joinURL(port: port, room: 1, token: token))
        client.send("before shutdown")
        try await client.waitForMessages(1)

        kill(chatd.process.processIdentifier, SIGTERM)
        #expect(try await client.waitForClose() == .goingAway, "clients get a close frame")
        #expect(try await chatd.waitForExit() == 0)
        #expect(chatd.output.contains("chatd stopped"))
    }

    @Test(arguments: [("--port", "the API listener"), ("--admin-port", "the admin listener")])
    func aTakenPortStopsChatdNamingTheListenerAndItsFlag(flag: String, listener: String) async throws {
        let taken = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(taken.localAddress?.port)
        var flags = ["serve", "--host", "127.0.0.1", "--port", "0", "--admin-port", "0"]
        flags += [flag, String(port)]  // the last one wins
        let chatd = try ChatdProcess(flags)
        #expect(try await chatd.waitForExit() != 0)
        #expect(
            chatd.output.contains("\(listener) cannot listen on 127.0.0.1:\(port): the address is already in use")
                && chatd.output.contains("choose another port with \(flag)"),
            "log: \(chatd.output)")
        try await taken.close()
    }

    @Test func authNoneOnAPublicAddressLogsAWarning() async throws {
        let chatd = try ChatdProcess(["--host", "0.0.0.0", "--port", "0"], environment: ["CHATD_AUTH": "none"])
        _ = try await chatd.listeningPort()
        #expect(chatd.output.contains("--auth none on 0.0.0.0"), "log: \(chatd.output)")
        chatd.process.interrupt()
        #expect(try await chatd.waitForExit() == 0)
    }

    @Test func flagsWinOverTheEnvironment() async throws {
        let chatd = try ChatdProcess(["--host", "127.0.0.1", "--port", "0"], environment: ["CHATD_PORT": "not-a-port"])
        _ = try await chatd.listeningPort()
        chatd.process.interrupt()  // SIGINT stops it as SIGTERM does
        #expect(try await chatd.waitForExit() == 0)
    }

    @Test func limitFlagsReachTheServer() async throws {
        let chatd = try ChatdProcess(["--host", "127.0.0.1", "--port", "0", "--max-rooms", "1"])
        let port = try await chatd.listeningPort()
        let token = try await LoopbackHTTP.createUser("Ann", port: port)
        #expect(try await LoopbackHTTP.request(.POST, port: port, "/v1/chatrooms", token: token).status == 200)
        let full = try await LoopbackHTTP.request(.POST, port: port, "/v1/chatrooms", token: token)
        #expect(full.status == 507)
        #expect((full.json?["message"] as? String)?.contains("at most 1 chat rooms") == true)
        chatd.process.terminate()
        #expect(try await chatd.waitForExit() == 0)
    }

    @Test(arguments: [
        (["--redis", "redis://127.0.0.1:1"], "cannot use Redis at redis://127.0.0.1:1"),
        (["--elasticsearch", "http://127.0.0.1:1"], "cannot reach Elasticsearch at http://127.0.0.1:1"),
        (["migrate", "--elasticsearch", "http://127.0.0.1:1"], "cannot reach Elasticsearch at http://127.0.0.1:1"),
        (["--mariadb", "postgres://x"], "scheme must be mariadb"),
        (["--port", "70000"], "port must be 0 to 65535"),
        (["--presence-lease", "60"], "presence lease must be 1 to 20 seconds"),
        (["migrate"], "nothing to migrate"),
        (["--listen-backlog", "0"], "--listen-backlog must be positive"),
        (["--flush-window-ms", "2000"], "--flush-window-ms must be between 0 and 1000"),
        (["--auth", "maybe"], "--auth must be token, jwt or none"),
        (["--auth", "jwt"], "--auth jwt needs --jwt-secret or --jwt-public-key"),
        (["--auth", "jwt", "--jwt-secret", "short"], "--jwt-secret must be at least 32 bytes"),
        (["--auth", "jwt", "--jwt-public-key", "/nonexistent.pem"], "cannot read --jwt-public-key"),
        (["--jwt-secret", "0123456789abcdef0123456789abcdef"], "need --auth jwt"),
        (["--admin-token", "short"], "--admin-token must be at least 16 bytes"),
        (["--allowed-origin", "app.example"], "invalid origin 'app.example'"),
        (["--trusted-proxy", "proxy.local"], "--trusted-proxy must be an IP address"),
        (["--request-timeout", "0"], "--request-timeout must be between 0 and 3600 seconds"),
        (["--max-connections", "0"], "--max-connections must be positive"),
        (["--max-rooms", "0"], "--max-rooms must be positive"),
    ])
    func refusesWhatItCannotDoWithAMessage(_ arguments: [String], _ message: String) async throws {
        let chatd = try ChatdProcess(arguments)
        #expect(try await chatd.waitForExit() != 0)
        #expect(chatd.output.contains(message), "log: \(chatd.output)")
    }
}
