import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// HTTP requests to a chatd on a loopback port (a spawned process, where no TestServer exists).
enum LoopbackHTTP {
    struct Reply {
        let status: Int
        let json: [String: Any]?
    }

    static func request(_ method: HTTPMethod, port: Int, _ path: String, body: String? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "Content-Type", value: "application/json")  // the API takes JSON bodies only
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return Reply(status: Int(response.status.code), json: try? JSONSerialization.jsonObject(with: Data(buffer: bytes)) as? [String: Any])
    }
}
