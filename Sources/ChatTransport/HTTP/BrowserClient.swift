import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The browser client: static files shipped as the ChatTransport target's resources
/// (`Sources/ChatTransport/Resources/client/`), served at `/` (index.html) and each other file
/// at `/` + its name (`/client.js`, its modules, `/client.css`). Nothing is inline, so the page's Content-Security-Policy can forbid inline
/// script and style (`default-src 'self'`): an injected `<script>` would not run.
///
/// What the script does with the token and the join URL: docs/security.md ("The browser
/// client and its token"); what it does for its user: docs/operations.md ("The browser client").
enum BrowserClient {
    /// One file of the client, read once from the resource bundle.
    struct File: Sendable {
        let name: String
        /// Where it is served.
        var path: String { "/" + name }
        let contentType: String
        /// `nil` when the file is missing from the resource bundle.
        let body: ByteBuffer?
    }

    /// The resource folder's files by route. A chatd binary needs its resource bundle
    /// (`swift-chat-server_ChatTransport.resources`) beside it; SwiftPM puts it there.
    static let page = load("index.html", contentType: "text/html; charset=utf-8")
    /// The page's script (a module) and the modules it imports, then its style.
    static let assets: [File] =
        ["client.js", "client-api.js", "client-room.js"].map { load($0, contentType: "text/javascript; charset=utf-8") }
        + [load("client.css", contentType: "text/css; charset=utf-8")]

    static func load(_ name: String, contentType: String) -> File {
        let url = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "client")
        let data = url.flatMap { try? Data(contentsOf: $0) }
        return File(name: name, contentType: contentType, body: data.map { ByteBuffer(bytes: $0) })
    }

    /// The page, with its security headers. `host` (the request's Host) names the WebSocket
    /// origin the page may connect to; anything that is not a plain host[:port] is left out.
    static func response(_ page: File, host: String?) throws -> Response {
        var sources = "'self'"
        if let host, isPlainHost(host) { sources += " ws://\(host) wss://\(host)" }
        var response = try response(page)
        response.headers[.contentSecurityPolicy] = "default-src 'self'; connect-src \(sources); frame-ancestors 'none'"
        return response
    }

    /// A file with the headers every file of the client carries.
    static func response(_ file: File) throws -> Response {
        guard let body = file.body else {
            throw APIError(.internalServerError, "the browser client's \(file.name) is missing from this build's resources")
        }
        let headers: HTTPFields = [
            .contentType: file.contentType,
            .cacheControl: "no-cache",
            .xContentTypeOptions: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
        ]
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }

    /// Letters, digits, `.`, `-`, `:` and brackets (IPv6) only: nothing that could end the
    /// policy's directive or add a source.
    static func isPlainHost(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 255
            && host.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte | 0x20) || ".-:[]".utf8.contains(byte)
            }
    }
}
