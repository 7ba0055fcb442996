import ChatCore
import HTTPTypes
import Hummingbird
import Testing

@testable import ChatTransport

@Suite struct RequestParsingTests {
    @Test func joinRequestsAreRecognisedAndDecoded() throws {
        let join = try #require(JoinRequest(uri: "/v1/chatrooms/7/join?user=Zo%C3%AB%20Li&x=1"))
        #expect(try join.room() == RoomID(7))
        #expect(join.user == "Zoë Li")
        #expect(JoinRequest(uri: "/v1/chatrooms/7/join?user=C++")?.user == "C++", "a literal plus stays a plus")
        #expect(JoinRequest(uri: "/v1/chatrooms/7/join")?.user == nil)
        #expect(JoinRequest(uri: "/v1/chatrooms/7/join?user=")?.user == "")
        #expect(JoinRequest(uri: "/v1/chatrooms/7/join?user=a&user=b")?.user == "a", "the first user wins")
        #expect(throws: ChatError.invalidRoomID("x")) { try JoinRequest(uri: "/v1/chatrooms/x/join?user=a")?.room() }
        // Found by FuzzJoinRequest: "007" named room 7, a second spelling of one room.
        #expect(throws: ChatError.invalidRoomID("007")) { try JoinRequest(uri: "/v1/chatrooms/007/join?user=a")?.room() }
    }

    @Test(arguments: ["/v1/chatrooms/7/users", "/v1/chatrooms/7/join/", "/v2/chatrooms/7/join", "/v1/chatrooms//join", "v1/chatrooms/7/join"])
    func otherPathsAreNotJoins(_ uri: String) {
        if uri == "/v1/chatrooms//join" {
            #expect(throws: ChatError.self) { try JoinRequest(uri: uri)?.room() }
        } else {
            #expect(JoinRequest(uri: uri) == nil)
        }
    }

    @Test func routeTableTellsMethodNotAllowedFromNotFound() {
        let access = AccessControl(settings: AccessSettings(), authenticator: nil, counters: TransportCounters())
        let paths = ChatAPI(service: ChatService(backends: .inMemory()), maximumBodyBytes: 1024, access: access).routes().paths
        #expect(Set(paths.methods(forPath: "/v1/chatrooms")) == [.get, .post])
        #expect(Set(paths.methods(forPath: "/v1/chatrooms/")) == [.get, .post])
        #expect(paths.methods(forPath: "/v1/chatrooms/12/users") == [.get])
        #expect(paths.methods(forPath: "/v1/chatrooms/12/messages") == [.get], "the search route, missing from the old second copy")
        #expect(paths.methods(forPath: "/v1/chatrooms/users") == [.post])
        #expect(Set(paths.methods(forPath: "/v1/users")) == [.post, .delete])
        #expect(paths.methods(forPath: "/v1/tokens") == [.post])
        #expect(paths.methods(forPath: "/v1/tokens/current") == [.delete])
        #expect(paths.methods(forPath: "/client.js") == [.get])
        #expect(paths.methods(forPath: "/v1/chatrooms//users") == [])
        #expect(paths.methods(forPath: "/nope") == [])
    }

    @Test func closeReasonsAreCutWithoutSplittingCharacters() {
        let payload = CloseCode.payload(.goingAway, reason: String(repeating: "é", count: 100), allocator: .init())
        #expect(payload.readableBytes <= 125)
        var reason = payload
        reason.moveReaderIndex(forwardBy: 2)
        #expect(String(validating: reason.readableBytesView, as: UTF8.self) != nil)
    }
}
