import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@testable import ChatTransport

/// The browser client's files: found in the resource bundle and served with their types and
/// security headers. The app itself is tested in a real browser (scripts/browser/run.sh).
@Suite struct BrowserClientTests {
    @Test(arguments: [
        ("/", "text/html; charset=utf-8", "<!doctype html>"),
        ("/client.js", "text/javascript; charset=utf-8", #"import {Room} from "/client-room.js";"#),
        ("/client-api.js", "text/javascript; charset=utf-8", "export async function api("),
        ("/client-room.js", "text/javascript; charset=utf-8", "export class Room {"),
        ("/client.css", "text/css; charset=utf-8", "[hidden]"),
    ])
    func eachFileIsServedFromTheBundleWithItsTypeAndHeaders(_ path: String, _ contentType: String, _ content: String) async throws {
        try await HTTPRouterTests.withRouter { client in
            let response = try await client.execute(uri: path, method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == contentType)
            #expect(response.headers[.xContentTypeOptions] == "nosniff")
            #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
            #expect(response.headers[.cacheControl] == "no-cache")
            #expect(String(buffer: response.body).contains(content), "the file in Resources/client/, not a stand-in")
        }
    }

    @Test func thePagesPolicyForbidsInlineCodeAndFraming() async throws {
        try await HTTPRouterTests.withRouter { client in
            let page = try await client.execute(uri: "/", method: .get)  // the test client's authority is "localhost"
            let policy = try #require(page.headers[.contentSecurityPolicy])
            #expect(policy == "default-src 'self'; connect-src 'self' ws://localhost wss://localhost; frame-ancestors 'none'")
            #expect(!policy.contains("unsafe-inline"))
            let html = String(buffer: page.body)
            #expect(html.contains(#"<script src="/client.js" type="module"></script>"#))
            #expect(html.contains(#"<link rel="stylesheet" href="/client.css">"#))
            #expect(!html.contains("<script>") && !html.contains("<style") && !html.contains(" style="), "nothing inline: the CSP forbids it")
            #expect(html.range(of: #"\son[a-z]+="#, options: .regularExpression) == nil, "no inline event handlers")
        }
    }

    @Test func everyFileOfTheResourceFolderIsFound() throws {
        #expect(BrowserClient.assets.map(\.path) == ["/client.js", "/client-api.js", "/client-room.js", "/client.css"])
        for file in [BrowserClient.page] + BrowserClient.assets {
            let body = try #require(file.body, "\(file.name) is in the ChatTransport resource bundle")
            #expect(body.readableBytes > 100)
        }
        #expect(BrowserClient.load("nothing.js", contentType: "text/javascript").body == nil)
    }

    @Test func aMissingFileIsAJSONError() throws {
        let missing = BrowserClient.File(name: "gone.js", contentType: "text/javascript", body: nil)
        #expect(throws: APIError.self) { try BrowserClient.response(missing) }
    }

    @Test func theScriptsInsertTextAsText() throws {
        let scripts = try BrowserClient.assets.filter { $0.name.hasSuffix(".js") }.map { String(buffer: try #require($0.body)) }
        let script = scripts.joined(separator: "\n")
        #expect(!script.contains("innerHTML") && !script.contains("insertAdjacentHTML") && !script.contains("document.write"))
        #expect(script.contains("encodeURIComponent(name)"))
        #expect(script.contains(#"["chat.v2"]"#), "joins with the opt-in protocol")
    }
}
