import HTTPTypes
import Hummingbird
import NIOCore

/// The small browser client served at `/`: create a user and a room, join, chat.
enum BrowserClient {
    static var response: Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache"],
            body: .init(byteBuffer: ByteBuffer(string: page))
        )
    }

    static let page = #"""
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>chatd</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>
    body{font:15px system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#222}
    input,button{font:inherit;padding:.3rem .5rem}#log{border:1px solid #ccc;height:22rem;overflow-y:auto;padding:.5rem;margin:.5rem 0}
    .meta{color:#888;font-size:.8em}.err{color:#b00}
    </style></head><body>
    <h1>chatd</h1>
    <p><input id="user" placeholder="your name" maxlength="32"> <button id="register">Create user</button>
       <button id="newroom">Create room</button> room <select id="rooms"></select>
       <button id="join">Join</button> <span id="status" class="meta"></span></p>
    <div id="log"></div>
    <form id="send"><input id="text" size="50" placeholder="message" autocomplete="off"> <button>Send</button></form>
    <script>
    const $ = id => document.getElementById(id);
    let socket = null;
    function status(text, error) { $("status").textContent = text; $("status").className = error ? "err" : "meta"; }
    async function api(method, path, body) {
      const response = await fetch(path, {method, headers: {"Content-Type": "application/json"}, body: body && JSON.stringify(body)});
      const json = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(json.message || response.statusText);
      return json;
    }
    async function refreshRooms(select) {
      const {ids} = await api("GET", "/v1/chatrooms");
      $("rooms").innerHTML = ids.map(id => `<option>${id}</option>`).join("");
      if (select) $("rooms").value = select;
    }
    $("register").onclick = () => api("POST", "/v1/users", {name: $("user").value})
      .then(() => status("user created")).catch(e => status(e.message, true));
    $("newroom").onclick = () => api("POST", "/v1/chatrooms").then(({id}) => refreshRooms(id)).catch(e => status(e.message, true));
    $("join").onclick = () => {
      if (socket) socket.close();
      $("log").textContent = "";
      const url = new URL(`/v1/chatrooms/${$("rooms").value}/join`, location.href);
      url.protocol = url.protocol.replace("http", "ws");
      url.searchParams.set("user", $("user").value);
      socket = new WebSocket(url);
      socket.onopen = () => status(`in room ${$("rooms").value}`);
      socket.onclose = event => status(`disconnected (${event.code}) ${event.reason}`, event.code !== 1000);
      socket.onmessage = event => {
        const m = JSON.parse(event.data);
        const line = document.createElement("div");
        line.innerHTML = `<span class="meta">${new Date(m.timestamp).toLocaleTimeString()}</span> <b></b>: <span></span>`;
        line.querySelector("b").textContent = m.user;
        line.querySelector("span:last-child").textContent = m.message;
        $("log").append(line); $("log").scrollTop = $("log").scrollHeight;
      };
    };
    $("send").onsubmit = event => {
      event.preventDefault();
      if (socket && socket.readyState === 1 && $("text").value) { socket.send($("text").value); $("text").value = ""; }
    };
    refreshRooms().catch(e => status(e.message, true));
    </script></body></html>
    """#
}
