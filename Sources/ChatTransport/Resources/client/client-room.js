// chatd's browser client: one open room over the opt-in protocol chat.v2 (docs/protocol.md):
// its socket, messages, posts and members. Each tab keeps its open rooms' messages and last
// (epoch, seq), and its posts not yet acknowledged, in sessionStorage, so a reload resumes with
// `since`/`epoch` and resends those posts under the same ids. What changes is told to `page`
// (its roomChanged and active).
import {api, newPostID, plainWords, session} from "/client-api.js";

const keptMessages = 200; // per room, in sessionStorage
const resendsPerSecond = 20; // well under the server's default rate (50 frames a second)
const maximumMessageBytes = 16384; // the server's default message limit (UTF-8)

export class Room {
  constructor(id, page) {
    this.id = id;
    this.page = page;
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
    this.outbox = []; // posts to send again, paced
    this.drainTimer = null;
    this.closed = false;
    this.suspended = false;
    this.connecting = false;
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

  setState(text, kind) { this.state = {text, kind}; this.page.roomChanged(this, "state"); }

  /** Opens the room's socket, unless one is open or opening. */
  async connect() {
    clearTimeout(this.timer);
    if (this.closed || this.suspended || this.connecting || this.socket) return;
    this.connecting = true;
    try { await this.open(); } finally { this.connecting = false; }
  }

  async open() {
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
      this.outbox = [...this.pending.values()].filter(post => !post.acked && !post.failed);
      this.drain();
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
    clearTimeout(this.drainTimer);
    this.drainTimer = null;
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
    clearTimeout(this.drainTimer);
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
      if (!post) { this.page.roomChanged(this, "notice", frame.message); return; }
      if (frame.code === "rate_limited" || frame.code === "unavailable") {
        this.resendLater(post); // the same id: published at most once
      } else {
        Object.assign(post, {failed: true, reason: frame.message});
        this.save();
        this.page.roomChanged(this, "pending");
      }
      return;
    }
    case "presence":
      if (this.presenceDuringLoad) this.presenceDuringLoad.push(frame);
      this.applyPresence(frame);
      this.page.roomChanged(this, "members", frame.user + (frame.event === "join" ? " joined" : " left"));
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
    if (this.page.active !== this && !message.system && message.user !== session.get().user) this.unread += 1;
    this.settle();
    this.page.roomChanged(this, "message", message);
  }

  /** Posts acknowledged and already received leave the pending list. */
  settle() {
    for (const [id, post] of this.pending) {
      if (post.acked && post.epoch === this.epoch && post.seq <= this.seq) this.pending.delete(id);
    }
    this.save();
    this.page.roomChanged(this, "pending");
  }

  post(text) {
    const post = {id: newPostID(), text};
    const bytes = new TextEncoder().encode(text).length;
    if (bytes > maximumMessageBytes) Object.assign(post, {failed: true, reason: "longer than " + maximumMessageBytes + " bytes (" + bytes + ")"});
    this.pending.set(post.id, post);
    this.save();
    this.page.roomChanged(this, "pending");
    if (!post.failed) this.transmit(post);
  }

  /** Posts sent again (after a reconnect, or refused for now) go out at a pace the server's
   *  rate limit allows, so a long queue does not get the socket closed again. */
  drain() {
    clearTimeout(this.drainTimer);
    this.drainTimer = null;
    for (const post of this.outbox.splice(0, resendsPerSecond)) this.transmit(post);
    if (this.outbox.length > 0) this.drainTimer = setTimeout(() => this.drain(), 1000);
  }

  resendLater(post) {
    if (!this.outbox.includes(post)) this.outbox.push(post);
    if (!this.drainTimer) this.drainTimer = setTimeout(() => this.drain(), 1000);
  }

  transmit(post) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN && this.pending.has(post.id) && !post.acked) {
      this.socket.send(JSON.stringify({type: "post", id: post.id, text: post.text}));
    }
  }

  discard(id) { this.pending.delete(id); this.save(); this.page.roomChanged(this, "pending"); }

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
      this.page.roomChanged(this, "notice", "Members unknown: " + error.message);
    }
    if (this.presenceDuringLoad === events) this.presenceDuringLoad = null;
    this.page.roomChanged(this, "members");
  }
}
