// chatd's browser client: who is signed in, and the REST API (docs/operations.md, "The browser
// client"). The token (never the password) is kept in localStorage.

export const session = {
  get() { try { return JSON.parse(localStorage.getItem("chatd.session")); } catch { return null; } },
  set(value) { localStorage.setItem("chatd.session", JSON.stringify(value)); },
  clear() { localStorage.removeItem("chatd.session"); sessionStorage.clear(); },
};

/** A refusal in words a person can act on. */
export function plainWords(status, message) {
  if (status === 401) return "Not signed in: the token is missing, revoked or expired. Sign out and log in again. (" + message + ")";
  if (status === 403) return "Not allowed: " + message;
  if (status === 404) return "Not found: " + message;
  if (status === 429) return "Too many attempts; wait a minute. (" + message + ")";
  return message;
}

export async function api(method, path, body) {
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
export function newPostID() {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return "p-" + Array.from(bytes, byte => byte.toString(16).padStart(2, "0")).join("");
}
