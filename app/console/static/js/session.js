// Who is signed in on this tab: the token and the username it was issued to.

const SESSION_KEY = "ringcard.session";

// The token lives in sessionStorage: it survives a reload of the tab, and is gone with the tab.
export class Session {
  constructor() {
    this.data = null;
    try {
      this.data = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    } catch {
      this.data = null;
    }
  }

  get token() {
    if (!this.data || !this.data.token) return null;
    return this.data.expiresAt > Date.now() ? this.data.token : null;
  }

  get username() {
    return this.data?.username || "";
  }

  save(answer, username) {
    this.data = { token: answer.access_token, expiresAt: Date.now() + answer.expires_in * 1000, username };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(this.data));
  }

  clear() {
    this.data = null;
    sessionStorage.removeItem(SESSION_KEY);
  }
}
