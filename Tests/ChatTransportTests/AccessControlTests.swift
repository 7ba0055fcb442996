import ChatCore
import NIOCore
import Testing

@testable import ChatTransport

/// The access rules without I/O: limiter arithmetic on an injected time, join parsing, bearer parsing.
@Suite struct AccessControlTests {
    @Test func theLimiterAllowsABurstThenRefillsOverTheMinute() {
        let limiter = AttemptLimiter(perMinute: 2)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        #expect(!limiter.isExhausted("a", now: start))
        #expect(limiter.take("a", now: start))
        #expect(limiter.take("a", now: start))
        #expect(limiter.isExhausted("a", now: start))
        #expect(!limiter.take("a", now: start))
        #expect(limiter.take("b", now: start), "another key has its own bucket")
        #expect(limiter.take("a", now: start + .seconds(30)), "one attempt back after half a minute")
        #expect(!limiter.take("a", now: start + .seconds(31)))
    }

    @Test func theLimiterForgetsRefilledKeysInsteadOfGrowing() {
        let limiter = AttemptLimiter(perMinute: 1, maximumKeys: 2)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        #expect(limiter.take("a", now: start))
        #expect(limiter.take("b", now: start))
        #expect(limiter.take("c", now: start + .seconds(120)), "a and b refilled and were dropped")
        #expect(!limiter.isExhausted("a", now: start + .seconds(120)))
    }

    @Test func theJoinQueryCarriesTheTokenAndTheNameDecodedAsEncodeURIComponentWrites() throws {
        let join = try #require(JoinRequest(uri: "/v1/chatrooms/7/join?user=Ann%20Lee&access_token=abc-_9"))
        #expect(join.user == "Ann Lee")
        #expect(join.accessToken == "abc-_9")
        #expect(JoinRequest(uri: "/v1/chatrooms/7/join")?.accessToken == nil)
    }

    @Test func bearerCredentialsAreReadFromTheAuthorizationHeader() {
        #expect(AccessControl.bearer("Bearer abc") == "abc")
        #expect(AccessControl.bearer("bearer  abc ") == "abc")
        #expect(AccessControl.bearer("Basic abc") == nil)
        #expect(AccessControl.bearer("Bearer") == nil)
        #expect(AccessControl.bearer(nil) == nil)
    }

    @Test func thePageNamesOnlyAPlainHostInItsPolicy() {
        #expect(BrowserClient.isPlainHost("127.0.0.1:8080"))
        #expect(BrowserClient.isPlainHost("[::1]:8080"))
        #expect(BrowserClient.isPlainHost("chat.example.com"))
        #expect(!BrowserClient.isPlainHost("evil.example; script-src *"))
        #expect(!BrowserClient.isPlainHost(""))
    }
}
