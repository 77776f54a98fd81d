// The agent WebSocket (docs/realtime.md): events carry a cursor; after a drop the client
// reconnects with the last cursor it processed and the server replays exactly what was
// missed before live events resume. `resync` means the cursor is too old: reload over REST.
// The server closes the socket with 4401 (signed out, token reset), 4403 (no longer a
// member of the account) or 4409 (role changed) when access changes; reconnecting with the
// same credential would be refused, so those end the client and `onRevoked` decides.

/** Close codes after which reconnecting is pointless (docs/realtime.md). */
export const REVOKED = { 4401: 'unauthorized', 4403: 'forbidden', 4409: 'role_changed' };

export class Realtime {
  /**
   * @param {number} accountId
   * @param {{onEvent: Function, onStatus: Function, onResync: Function, onRevoked?: Function}} handlers
   */
  constructor(accountId, { onEvent, onStatus, onResync, onRevoked }) {
    this.accountId = accountId;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onResync = onResync;
    this.onRevoked = onRevoked || (() => {});
    this.ws = null;
    this.cursor = null;
    this.attempt = 0;
    this.timer = null;
    this.pingTimer = null;
    this.stopped = false;
    this.status = 'connecting';
    this.everReady = false;
    this.online = () => this.reconnectSoon(0);
  }

  start(cursor) {
    this.cursor = cursor ?? null;
    this.stopped = false;
    window.addEventListener('online', this.online);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.online);
    clearTimeout(this.timer);
    clearInterval(this.pingTimer);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000, 'bye');
    }
    this.ws = null;
  }

  url() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = this.cursor !== null && this.cursor !== undefined ? `?cursor=${encodeURIComponent(this.cursor)}` : '';
    return `${proto}//${location.host}/api/v1/accounts/${this.accountId}/realtime${q}`;
  }

  setStatus(s) {
    if (this.status === s) return;
    this.status = s;
    this.onStatus(s);
  }

  connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.setStatus(this.attempt === 0 && !this.everReady ? 'connecting' : 'reconnecting');
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch {
      this.reconnectSoon();
      return;
    }
    this.ws = ws;
    ws.onmessage = (e) => this.frame(e.data);
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      const revoked = e && REVOKED[e.code];
      if (revoked) {
        this.stop();
        this.onRevoked(revoked);
        return;
      }
      this.reconnectSoon();
    };
    ws.onerror = () => {
      // onclose follows
    };
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => this.send({ type: 'ping' }), 20000);
  }

  /** Backoff: 0.5 s, 1 s, 2 s … 15 s, with jitter. */
  reconnectSoon(delay) {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.setStatus('reconnecting');
    const base = delay ?? Math.min(15000, 500 * 2 ** Math.min(this.attempt, 5));
    this.attempt++;
    this.timer = setTimeout(() => {
      if (this.ws && this.ws.readyState <= 1) return;
      this.connect();
    }, base + Math.random() * (base / 4));
  }

  frame(text) {
    let f;
    try {
      f = JSON.parse(text);
    } catch {
      return;
    }
    if (!f || typeof f !== 'object') return;
    switch (f.event) {
      case 'ready':
        this.attempt = 0;
        this.everReady = true;
        if (typeof f.cursor === 'number') this.saveCursor(f.cursor);
        this.setStatus('live');
        return;
      case 'pong':
        return;
      case 'resync':
        this.cursor = null;
        this.onResync(f.reason);
        return;
      default:
        break;
    }
    // A replayed or live stored event we have already processed is skipped: the cursor
    // only moves forward.
    if (typeof f.cursor === 'number') {
      if (this.cursor !== null && f.cursor <= this.cursor) return;
    }
    try {
      this.onEvent(f);
    } finally {
      if (typeof f.cursor === 'number') this.saveCursor(f.cursor);
    }
  }

  saveCursor(c) {
    // Kept in memory only: a reloaded page reads fresh state over REST and starts live.
    if (this.cursor === null || c > this.cursor) this.cursor = c;
  }

  /** Sends a client frame; false when the socket is not open. */
  send(obj) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(obj));
    return true;
  }

  isLive() {
    return this.status === 'live';
  }
}
