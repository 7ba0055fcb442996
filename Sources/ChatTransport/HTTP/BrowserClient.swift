import HTTPTypes
import Hummingbird
import NIOCore

/// The small browser client: a page at `/`, its script at `/client.js` and style at
/// `/client.css`. Nothing is inline, so the page's Content-Security-Policy can forbid inline
/// script and style (`default-src 'self'`): an injected `<script>` would not run.
///
/// The script keeps the user's token in `localStorage` (a token, not a password; cleared by
/// "Forget token"), sends it as `access_token` on the join (browsers cannot set headers on a
/// WebSocket) and as a bearer header elsewhere, encodes the join URL with
/// `encodeURIComponent`, and asks the join URL over plain HTTP first, so a 401 or 403 is shown
/// in words (a refused WebSocket tells JavaScript nothing).
enum BrowserClient {
    /// The page, with its security headers. `host` (the request's Host) names the WebSocket
    /// origin the page may connect to; anything that is not a plain host[:port] is left out.
    static func page(host: String?) -> Response {
        var sources = "'self'"
        if let host, isPlainHost(host) { sources += " ws://\(host) wss://\(host)" }
        var headers = staticHeaders(contentType: "text/html; charset=utf-8")
        headers[.contentSecurityPolicy] = "default-src 'self'; connect-src \(sources); frame-ancestors 'none'"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    static var script: Response {
        Response(status: .ok, headers: staticHeaders(contentType: "text/javascript; charset=utf-8"), body: .init(byteBuffer: ByteBuffer(string: javaScript)))
    }

    static var style: Response {
        Response(status: .ok, headers: staticHeaders(contentType: "text/css; charset=utf-8"), body: .init(byteBuffer: ByteBuffer(string: css)))
    }

    private static func staticHeaders(contentType: String) -> HTTPFields {
        [
            .contentType: contentType,
            .cacheControl: "no-cache",
            .xContentTypeOptions: "nosniff",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
        ]
    }

    /// Letters, digits, `.`, `-`, `:` and brackets (IPv6) only: nothing that could end the
    /// policy's directive or add a source.
    static func isPlainHost(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 255
            && host.utf8.allSatisfy { byte in
                (0x30...0x39).contains(byte) || (0x61...0x7A).contains(byte | 0x20) || ".-:[]".utf8.contains(byte)
            }
    }

    static let html = #"""
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>chatd</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <link rel="stylesheet" href="/client.css"><script src="/client.js" defer></script></head><body>
    <h1>chatd</h1>
    <p><input id="user" placeholder="your name" maxlength="32"> <input id="password" type="password" placeholder="password (optional)">
       <button id="register">Create user</button> <button id="login">Log in</button> <button id="forget">Forget token</button></p>
    <p><button id="newroom">Create room</button> room <select id="rooms"></select>
       <button id="join">Join</button> <span id="status" class="meta"></span></p>
    <div id="log"></div>
    <form id="send"><input id="text" size="50" placeholder="message" autocomplete="off"> <button>Send</button></form>
    </body></html>
    """#

    static let css = """
    body{font:15px system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222}
    input,button{font:inherit;padding:.3rem .5rem}#log{border:1px solid #ccc;height:22rem;overflow-y:auto;padding:.5rem;margin:.5rem 0}
    .meta{color:#888;font-size:.8em}.err{color:#b00}
    """

    static let javaScript = #"""
    "use strict";
    const $ = id => document.getElementById(id);
    let socket = null;
    const saved = () => ({user: localStorage.getItem("chatd.user"), token: localStorage.getItem("chatd.token")});
    function remember(user, token) {
      if (token) { localStorage.setItem("chatd.user", user); localStorage.setItem("chatd.token", token); }
    }
    function status(text, error) { $("status").textContent = text; $("status").className = error ? "err" : "meta"; }
    function plainWords(code, message) {
      if (code === 401) return "Not signed in: the token is missing, revoked or expired. Create the user or log in again. (" + message + ")";
      if (code === 403) return "Not allowed: " + message;
      if (code === 429) return "Too many attempts; wait a minute. (" + message + ")";
      return message;
    }
    async function api(method, path, body) {
      const headers = {"Content-Type": "application/json"};
      const {token} = saved();
      if (token) headers.Authorization = "Bearer " + token;
      const response = await fetch(path, {method, headers, body: body && JSON.stringify(body)});
      const json = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(plainWords(response.status, json.message || response.statusText));
      return json;
    }
    async function refreshRooms(select) {
      const {ids} = await api("GET", "/v1/chatrooms");
      $("rooms").replaceChildren(...ids.map(id => Object.assign(document.createElement("option"), {textContent: id})));
      if (select) $("rooms").value = select;
    }
    function credentials() {
      const body = {name: $("user").value};
      if ($("password").value) body.password = $("password").value;
      return body;
    }
    $("register").onclick = () => api("POST", "/v1/users", credentials())
      .then(({name, token}) => { remember(name, token); status("user created"); }).catch(e => status(e.message, true));
    $("login").onclick = () => api("POST", "/v1/tokens", credentials())
      .then(({token}) => { remember($("user").value, token); status("logged in"); }).catch(e => status(e.message, true));
    $("forget").onclick = () => { localStorage.removeItem("chatd.token"); localStorage.removeItem("chatd.user"); status("token forgotten"); };
    $("newroom").onclick = () => api("POST", "/v1/chatrooms").then(({id}) => refreshRooms(id)).catch(e => status(e.message, true));
    function joinPath() {
      const {user, token} = saved();
      const name = $("user").value || user || "";
      let path = "/v1/chatrooms/" + encodeURIComponent($("rooms").value) + "/join?user=" + encodeURIComponent(name);
      if (token) path += "&access_token=" + encodeURIComponent(token);
      return path;
    }
    $("join").onclick = async () => {
      if (socket) socket.close();
      $("log").textContent = "";
      const path = joinPath();
      // A refused WebSocket gives JavaScript no status: ask over plain HTTP first. An
      // acceptable join answers 426 (upgrade required); anything else says why not.
      const check = await fetch(path).catch(() => null);
      if (check && check.status !== 426) {
        const json = await check.json().catch(() => ({}));
        return status(plainWords(check.status, json.message || check.statusText), true);
      }
      const url = new URL(path, location.href);
      url.protocol = url.protocol.replace("http", "ws");
      socket = new WebSocket(url);
      socket.onopen = () => status("in room " + $("rooms").value);
      socket.onclose = event => status("disconnected (" + event.code + ") " + event.reason, event.code !== 1000);
      socket.onmessage = event => {
        const m = JSON.parse(event.data);
        const line = document.createElement("div");
        const time = Object.assign(document.createElement("span"), {className: "meta", textContent: new Date(m.timestamp).toLocaleTimeString() + " "});
        line.append(time, Object.assign(document.createElement("b"), {textContent: m.user}), ": " + m.message);
        $("log").append(line); $("log").scrollTop = $("log").scrollHeight;
      };
    };
    $("send").onsubmit = event => {
      event.preventDefault();
      if (socket && socket.readyState === 1 && $("text").value) { socket.send($("text").value); $("text").value = ""; }
    };
    if (saved().user) $("user").value = saved().user;
    refreshRooms().catch(e => status(e.message, true));
    """#
}
