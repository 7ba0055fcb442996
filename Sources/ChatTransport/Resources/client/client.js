// chatd's browser client (docs/operations.md, "The browser client"): the page. Plain
// JavaScript modules, no framework, no build step. Every text from the server is inserted with
// textContent, never as HTML.
import {api, session} from "/client-api.js";
import {Room} from "/client-room.js";

const $ = id => document.getElementById(id);
const element = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};
const shownRooms = 100; // the newest rooms of the server's list, besides the open ones

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
      room = new Room(id, this);
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
