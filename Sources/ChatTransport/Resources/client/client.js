// chatd's browser client (docs/operations.md, "The browser client"). Plain JavaScript, no
// framework, no build step. Every text from the server is inserted with textContent, never as
// HTML. The token (never the password) is kept in localStorage; each tab keeps its open rooms,
// their messages and last (epoch, seq), and its posts not yet acknowledged in sessionStorage,
// so a reload resumes with `since`/`epoch` and resends those posts under the same ids.
"use strict";

const $ = id => document.getElementById(id);
const element = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};
const keptMessages = 200; // per room, in sessionStorage
const shownRooms = 100; // the newest rooms of the server's list, besides the open ones

// ---- Who is signed in -------------------------------------------------------------------

const session = {
  get() { try { return JSON.parse(localStorage.getItem("chatd.session")); } catch { return null; } },
  set(value) { localStorage.setItem("chatd.session", JSON.stringify(value)); },
  clear() { localStorage.removeItem("chatd.session"); sessionStorage.clear(); },
};

/** A refusal in words a person can act on. */
function plainWords(status, message) {
  if (status === 401) return "Not signed in: the token is missing, revoked or expired. Sign out and log in again. (" + message + ")";
  if (status === 403) return "Not allowed: " + message;
  if (status === 404) return "Not found: " + message;
  if (status === 429) return "Too many attempts; wait a minute. (" + message + ")";
  return message;
}

async function api(method, path, body) {
  const headers = {};
  const current = session.get();
  if (current && current.token) headers.Authorization = "Bearer " + current.token;
  if (body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {method, headers, body: body && JSON.stringify(body), cache: "no-store"});
  const json = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(plainWords(response.status, json.message || response.statusText));
    error.status = response.status;
    throw error;
  }
  return json;
}

/** A post id: printable ASCII without spaces, unique per post (docs/protocol.md). */
function newPostID() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return "p-" + Array.from(bytes, byte => byte.toString(16).padStart(2, "0")).join("");
}

// ---- One open room: its socket, messages, posts and members ------------------------------

class Room {
  constructor(id) {
    this.id = id;
    const kept = JSON.parse(sessionStorage.getItem("chatd.room." + id) || "null") || {};
    this.messages = kept.messages || [];
    this.epoch = kept.epoch ?? null;
    this.seq = kept.seq ?? null;
    this.unread = kept.unread || 0;
    this.pending = new Map((kept.pending || []).map(post => [post.id, post]));
    this.members = new Set();
    this.presenceDuringLoad = null;
    this.socket = null;
    this.attempt = 0;
    this.timer = null;
    this.closed = false;
    this.suspended = false;
    this.state = {text: "", kind: ""};
    this.refusal = "";
  }

  save() {
    sessionStorage.setItem("chatd.room." + this.id, JSON.stringify({
      messages: this.messages.slice(-keptMessages), epoch: this.epoch, seq: this.seq,
      unread: this.unread, pending: [...this.pending.values()],
    }));
  }

  joinPath() {
    const {user, token} = session.get();
    const name = user;
    let path = "/v1/chatrooms/" + encodeURIComponent(this.id) + "/join?user=" + encodeURIComponent(name);
    if (token) path += "&access_token=" + encodeURIComponent(token);
    if (this.seq !== null) path += "&since=" + this.seq + "&epoch=" + encodeURIComponent(this.epoch);
    return path;
  }

  setState(text, kind) { this.state = {text, kind}; ui.roomChanged(this, "state"); }

  async connect() {
    clearTimeout(this.timer);
    if (this.closed || this.suspended) return;
    this.setState(this.attempt === 0 ? "connecting…" : "reconnecting… (try " + (this.attempt + 1) + ")", "down");
    const path = this.joinPath();
    // A refused WebSocket tells JavaScript no status: ask the join URL over plain HTTP first.
    // An acceptable join answers 426 (upgrade required); anything else says why not.
    let check;
    try { check = await fetch(path, {cache: "no-store"}); } catch { return this.retry("the server does not answer"); }
    if (this.closed || this.suspended) return;
    if (check.status !== 426) {
      const json = await check.json().catch(() => ({}));
      const reason = plainWords(check.status, json.message || check.statusText);
      if (check.status === 429 || check.status >= 500) return this.retry(reason);
      return this.refuse(reason);
    }
    const url = new URL(path, location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url, ["chat.v2"]);
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.refusal = "";
      this.setState("connected", "live");
      this.loadMembers();
      for (const post of this.pending.values()) if (!post.acked && !post.failed) this.transmit(post);
    };
    socket.onmessage = event => this.receive(JSON.parse(event.data));
    socket.onclose = event => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.closed) return;
      if (event.code === 4001) return this.refuse("Signed out: " + (event.reason || "token expired") + ". Log in again.");
      this.retry("closed (" + event.code + (event.reason ? ": " + event.reason : "") + ")");
    };
  }

  /** Backoff with jitter: 0.5 s, 1 s, 2 s, … up to 15 s. */
  retry(reason) {
    if (this.closed || this.suspended) return;
    const delay = Math.min(15000, 500 * 2 ** this.attempt) * (0.75 + Math.random() / 2);
    this.attempt += 1;
    this.setState("reconnecting… " + reason + "; next try in " + Math.ceil(delay / 1000) + " s", "down");
    this.timer = setTimeout(() => this.connect(), delay);
  }

  refuse(reason) {
    this.refusal = reason;
    this.setState("not connected", "down");
  }

  /** The page is hidden (navigated away, perhaps kept in the back-forward cache): leave for now. */
  suspend() {
    this.suspended = true;
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000);
  }

  /** The page is shown again from the back-forward cache: resume from the last message held. */
  resume() {
    this.suspended = false;
    this.attempt = 0;
    if (!this.refusal && !this.closed) this.connect();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000);
    this.socket = null;
  }

  receive(frame) {
    switch (frame.type) {
    case "message": return this.received(frame);
    case "ack": {
      const post = this.pending.get(frame.id);
      if (!post) return;
      Object.assign(post, {acked: true, seq: frame.seq, epoch: frame.epoch});
      this.settle();
      return;
    }
    case "error": {
      const post = frame.id === null ? null : this.pending.get(frame.id);
      if (!post) { ui.roomChanged(this, "notice", frame.message); return; }
      if (frame.code === "rate_limited" || frame.code === "unavailable") {
        setTimeout(() => this.transmit(post), 1000); // the same id: published at most once
      } else {
        Object.assign(post, {failed: true, reason: frame.message});
        this.save();
        ui.roomChanged(this, "pending");
      }
      return;
    }
    case "presence":
      if (this.presenceDuringLoad) this.presenceDuringLoad.push(frame);
      this.applyPresence(frame);
      ui.roomChanged(this, "members", frame.user + (frame.event === "join" ? " joined" : " left"));
      return;
    case "resumed":
      if (!frame.recovered) {
        this.received({system: true, message: "Some messages could not be recovered; the recent history is shown."});
      }
      return;
    }
  }

  /** Messages arrive gap-free in (epoch, seq) order: anything at or before the last one is a repeat. */
  received(message) {
    if (!message.system) {
      if (message.epoch === this.epoch && this.seq !== null && message.seq <= this.seq) return;
      this.epoch = message.epoch;
      this.seq = message.seq;
    }
    this.messages.push(message);
    if (this.messages.length > 2 * keptMessages) this.messages.splice(0, keptMessages);
    if (ui.active !== this && !message.system && message.user !== session.get().user) this.unread += 1;
    this.settle();
    ui.roomChanged(this, "message", message);
  }

  /** Posts acknowledged and already received leave the pending list. */
  settle() {
    for (const [id, post] of this.pending) {
      if (post.acked && post.epoch === this.epoch && post.seq <= this.seq) this.pending.delete(id);
    }
    this.save();
    ui.roomChanged(this, "pending");
  }

  post(text) {
    const post = {id: newPostID(), text};
    this.pending.set(post.id, post);
    this.save();
    ui.roomChanged(this, "pending");
    this.transmit(post);
  }

  transmit(post) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN && this.pending.has(post.id) && !post.acked) {
      this.socket.send(JSON.stringify({type: "post", id: post.id, text: post.text}));
    }
  }

  discard(id) { this.pending.delete(id); this.save(); ui.roomChanged(this, "pending"); }

  /** This user is there while this socket is open (the server may list the connection only
   *  once its history has been played, after the list was asked for). */
  applyPresence({user, event}) {
    if (event === "join" || (user === session.get().user && this.socket)) this.members.add(user);
    else this.members.delete(user);
  }

  /** Who is there: the list, then every presence event that came while it loaded. */
  async loadMembers() {
    const events = this.presenceDuringLoad = [];
    try {
      const {users} = await api("GET", "/v1/chatrooms/" + encodeURIComponent(this.id) + "/users");
      if (this.presenceDuringLoad !== events) return;
      this.members = new Set(users);
      if (this.socket) this.members.add(session.get().user);
      events.forEach(event => this.applyPresence(event));
    } catch (error) {
      ui.roomChanged(this, "notice", "Members unknown: " + error.message);
    }
    if (this.presenceDuringLoad === events) this.presenceDuringLoad = null;
    ui.roomChanged(this, "members");
  }
}

// ---- The page ---------------------------------------------------------------------------

const ui = {
  rooms: new Map(), // open rooms by id (as text)
  active: null,
  serverRooms: [],
  searchOffset: null,

  start() {
    $("auth-form").addEventListener("submit", event => { event.preventDefault(); this.authenticate(event.submitter?.value || "signup"); });
    $("signout").onclick = () => this.signOut();
    $("newroom").onclick = () => api("POST", "/v1/chatrooms").then(({id}) => this.refreshRooms().then(() => this.open(String(id)))).catch(error => this.roomsError(error));
    $("refresh").onclick = () => this.refreshRooms();
    $("goto").onsubmit = event => { event.preventDefault(); const id = $("goto-id").value.trim(); if (id) { $("goto-id").value = ""; this.open(id); } };
    $("compose").onsubmit = event => {
      event.preventDefault();
      const text = $("text").value;
      if (!this.active || !text.trim()) return;
      this.active.post(text);
      $("text").value = "";
      $("text").focus();
    };
    $("search").onsubmit = event => { event.preventDefault(); this.search(0); };
    $("q").addEventListener("keydown", event => { if (event.key === "Escape") { $("q").value = ""; this.clearSearch(); } });
    $("more").onclick = () => this.search(this.searchOffset);
    window.addEventListener("hashchange", () => this.openFromHash());
    // Leave the rooms when the page goes away (a browser may keep it, sockets open, in its
    // back-forward cache), and resume them if it comes back from there.
    window.addEventListener("pagehide", () => this.rooms.forEach(room => room.suspend()));
    window.addEventListener("pageshow", event => { if (event.persisted) this.rooms.forEach(room => room.resume()); });
    window.addEventListener("online", () => this.rooms.forEach(room => { if (!room.socket && !room.refusal) room.connect(); }));
    if (session.get()) this.signedIn(false); else this.signedOut();
  },

  async authenticate(action) {
    const name = $("name").value.trim();
    const password = $("password").value;
    $("auth-error").textContent = "";
    if (!name) { $("auth-error").textContent = "Give a name."; $("name").focus(); return; }
    try {
      if (action === "login") {
        try {
          const {token} = await api("POST", "/v1/tokens", {name, password});
          session.set({user: name, token});
        } catch (error) {
          if (error.status !== 404) throw error;
          session.set({user: name, token: null}); // a server without tokens (--auth none)
        }
      } else {
        const body = password ? {name, password} : {name};
        const created = await api("POST", "/v1/users", body);
        session.set({user: created.name, token: created.token || null});
      }
      $("password").value = "";
      this.signedIn(true);
    } catch (error) {
      $("auth-error").textContent = error.message;
    }
  },

  signedOut() {
    $("auth").hidden = false;
    $("app").hidden = true;
    $("whoami").hidden = true;
    $("name").focus();
  },

  async signedIn(moveFocus) {
    $("auth").hidden = true;
    $("app").hidden = false;
    $("whoami").hidden = false;
    $("whoami-name").textContent = "Signed in as " + session.get().user;
    const open = JSON.parse(sessionStorage.getItem("chatd.open") || "[]");
    for (const id of open) this.open(id, false);
    await this.refreshRooms();
    if (!this.openFromHash()) {
      const active = sessionStorage.getItem("chatd.active");
      if (active && this.rooms.has(active)) this.show(this.rooms.get(active));
      else if (moveFocus) $("newroom").focus();
    }
  },

  async signOut() {
    const current = session.get();
    if (current && current.token) await api("DELETE", "/v1/tokens/current").catch(() => {});
    this.rooms.forEach(room => room.close());
    this.rooms.clear();
    this.active = null;
    session.clear();
    history.replaceState(null, "", location.pathname);
    this.renderRoom();
    this.signedOut();
  },

  openFromHash() {
    const match = /^#room=(.+)$/.exec(location.hash);
    if (!match) return false;
    this.open(decodeURIComponent(match[1]));
    return true;
  },

  roomsError(error) { $("rooms-error").textContent = error.message; },

  async refreshRooms() {
    try {
      const {ids} = await api("GET", "/v1/chatrooms");
      this.serverRooms = ids.slice(-shownRooms).map(String);
      $("rooms-error").textContent = "";
    } catch (error) { this.roomsError(error); }
    this.renderRooms();
  },

  /** Opens a room (connects once per tab) and shows it. */
  open(id, show = true) {
    let room = this.rooms.get(id);
    if (!room) {
      room = new Room(id);
      this.rooms.set(id, room);
      sessionStorage.setItem("chatd.open", JSON.stringify([...this.rooms.keys()]));
      room.connect();
    } else if (room.refusal) {
      room.refusal = "";
      room.connect();
    }
    if (show) this.show(room);
    this.renderRooms();
  },

  leave(room) {
    room.close();
    this.rooms.delete(room.id);
    sessionStorage.removeItem("chatd.room." + room.id);
    sessionStorage.setItem("chatd.open", JSON.stringify([...this.rooms.keys()]));
    if (this.active === room) { this.active = null; this.renderRoom(); }
    this.renderRooms();
    $("newroom").focus();
  },

  show(room) {
    this.active = room;
    room.unread = 0;
    room.save();
    sessionStorage.setItem("chatd.active", room.id);
    history.replaceState(null, "", "#room=" + encodeURIComponent(room.id));
    this.clearSearch();
    this.renderRoom();
    this.renderRooms();
    $("text").focus();
  },

  /** What a room tells the page; only the active room is drawn, the others count unread. */
  roomChanged(room, what, detail) {
    if (what === "message" && room !== this.active) return this.renderRooms();
    if (room !== this.active) return;
    if (what === "message") { $("log").append(this.messageItem(detail)); this.scrollLog(); }
    if (what === "pending") this.renderPending();
    if (what === "members") { this.renderMembers(); if (detail) $("presence").textContent = detail; }
    if (what === "state") this.renderState();
    if (what === "notice") $("notice").textContent = detail;
  },

  renderRooms() {
    const ids = [...new Set([...this.serverRooms, ...this.rooms.keys()])];
    ids.sort((a, b) => (Number(a) - Number(b)) || a.localeCompare(b));
    $("rooms").replaceChildren(...ids.map(id => {
      const room = this.rooms.get(id);
      const item = element("li");
      const button = element("button");
      button.type = "button";
      button.dataset.room = id;
      if (this.active && this.active.id === id) button.setAttribute("aria-current", "true");
      const unread = element("span", "unread", room && room.unread ? String(room.unread) : "");
      if (room && room.unread) unread.append(element("span", "sr", " unread"));
      button.append(element("span", "", "Room " + id), unread);
      button.onclick = () => this.open(id);
      item.append(button);
      if (room) {
        const leave = element("button", "leave", "×");
        leave.type = "button";
        leave.setAttribute("aria-label", "Leave room " + id);
        leave.onclick = () => this.leave(room);
        item.append(leave);
      }
      return item;
    }));
  },

  renderRoom() {
    const room = this.active;
    $("room-heading").textContent = room ? "Room " + room.id : "No room open";
    $("log").setAttribute("aria-busy", "true");
    $("log").replaceChildren(...(room ? room.messages.map(message => this.messageItem(message)) : []));
    $("log").setAttribute("aria-busy", "false");
    this.scrollLog();
    for (const id of ["text", "send", "q", "search-button"]) $(id).disabled = !room;
    $("notice").textContent = "";
    this.renderPending();
    this.renderMembers();
    this.renderState();
  },

  renderState() {
    const room = this.active;
    $("connection").textContent = room ? room.state.text : "";
    $("connection").className = "state " + (room ? room.state.kind : "");
    if (room && room.refusal) $("notice").textContent = "Cannot join room " + room.id + ": " + room.refusal;
  },

  renderPending() {
    const posts = this.active ? [...this.active.pending.values()] : [];
    $("pending").replaceChildren(...posts.map(post => {
      const item = element("li", post.failed ? "failed" : "");
      item.append(element("span", "user", session.get().user), element("span", "text", post.text), " ");
      item.append(element("span", "meta", post.failed ? "not sent: " + post.reason : post.acked ? "sent" : "sending…"));
      if (post.failed) {
        const discard = element("button", "", "Dismiss");
        discard.type = "button";
        discard.onclick = () => this.active.discard(post.id);
        item.append(" ", discard);
      }
      return item;
    }));
  },

  renderMembers() {
    const names = this.active ? [...this.active.members].sort() : [];
    $("members").replaceChildren(...names.map(name => element("li", "", name)));
    $("member-count").textContent = this.active ? "(" + names.length + ")" : "";
  },

  messageItem(message) {
    if (message.system) return element("li", "system", message.message);
    const item = element("li");
    const time = element("time", "", new Date(message.timestamp).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}));
    time.dateTime = new Date(message.timestamp).toISOString();
    item.append(element("span", "user", message.user), element("span", "text", message.message), " ", time);
    return item;
  },

  scrollLog() { $("log").scrollTop = $("log").scrollHeight; },

  clearSearch() {
    $("results").replaceChildren();
    $("search-status").textContent = "";
    $("more").hidden = true;
  },

  async search(offset) {
    const room = this.active;
    const words = $("q").value.trim();
    if (!room || !words) return;
    try {
      const page = await api("GET", "/v1/chatrooms/" + encodeURIComponent(room.id) + "/messages?q=" + encodeURIComponent(words) + "&limit=20&offset=" + offset);
      if (offset === 0) $("results").replaceChildren();
      $("results").append(...page.messages.map(message => this.messageItem(message)));
      const count = $("results").children.length;
      $("search-status").textContent = count === 0 ? "No message contains “" + words + "”."
        : count + (page.next_offset ? "+" : "") + (count === 1 && !page.next_offset ? " message contains “" : " messages contain “") + words + "”.";
      this.searchOffset = page.next_offset ?? null;
      $("more").hidden = this.searchOffset === null;
    } catch (error) {
      $("search-status").textContent = error.message;
    }
  },
};

ui.start();
