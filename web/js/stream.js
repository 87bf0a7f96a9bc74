// Live events of one chat over WebSocket (/ws), falling back to Server-Sent Events when the socket
// cannot be used. Tracks the last seq it delivered, drops duplicates, and reconnects on its own
// with exponential backoff, resuming with after_seq = the last seq seen.

const EVENT_TYPES = [
  'message.created', 'generation.started', 'token', 'generation.finished',
  'message.updated', 'message.deleted', 'chat.updated', 'resync',
];

const TRANSPORT_KEY = 'troupe.transport'; // optional override: "ws" | "sse"

function preferredTransport() {
  try {
    const v = localStorage.getItem(TRANSPORT_KEY);
    if (v === 'ws' || v === 'sse') return v;
  } catch {
    // ignore
  }
  return typeof WebSocket === 'function' ? 'ws' : 'sse';
}

export class ChatStream {
  // onEvent(ev) for every new event in seq order; onStatus(state, detail) with state one of
  // "connecting" | "live" | "reconnecting" | "closed" | "gone".
  constructor({ chatId, token, afterSeq = 0, onEvent, onStatus }) {
    this.chatId = chatId;
    this.token = token;
    this.lastSeq = afterSeq;
    this.onEvent = onEvent;
    this.onStatus = onStatus || (() => {});
    this.transport = preferredTransport();
    this.wsFailures = 0; // consecutive sockets that never got "subscribed"
    this.attempt = 0;
    this.closed = false;
    this.ws = null;
    this.es = null;
    this.retryTimer = null;
    this.onVisible = () => {
      if (document.visibilityState === 'visible' && this.retryTimer) this.#reconnectNow();
    };
    this.onOnline = () => {
      if (this.retryTimer) this.#reconnectNow();
    };
  }

  get transportName() {
    return this.transport;
  }

  start() {
    document.addEventListener('visibilitychange', this.onVisible);
    window.addEventListener('online', this.onOnline);
    this.#connect();
    return this;
  }

  close() {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    document.removeEventListener('visibilitychange', this.onVisible);
    window.removeEventListener('online', this.onOnline);
    this.#teardown();
    this.onStatus('closed');
  }

  #teardown() {
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000);
      } catch {
        // already closed
      }
    }
    if (this.es) {
      this.es.close();
      this.es = null;
    }
  }

  #connect() {
    if (this.closed) return;
    this.onStatus(this.attempt === 0 ? 'connecting' : 'reconnecting');
    if (this.transport === 'ws') this.#connectWs();
    else this.#connectSse();
  }

  #reconnectNow() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.#teardown();
    this.#connect();
  }

  #scheduleReconnect() {
    if (this.closed || this.retryTimer) return;
    this.#teardown();
    this.attempt += 1;
    const base = Math.min(8000, 400 * 2 ** Math.min(this.attempt - 1, 5));
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.onStatus('reconnecting', { delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.#connect();
    }, delay);
  }

  #deliver(ev) {
    if (!ev || typeof ev !== 'object') return;
    if (ev.chat_id !== undefined && ev.chat_id !== this.chatId) return;
    if (typeof ev.seq !== 'number') return;
    if (ev.type === 'resync') {
      this.lastSeq = Math.max(this.lastSeq, ev.seq);
      this.onEvent(ev);
      return;
    }
    if (ev.seq <= this.lastSeq) return; // already delivered (replay after a reconnect)
    this.lastSeq = ev.seq;
    this.onEvent(ev);
  }

  #live() {
    this.attempt = 0;
    this.onStatus('live', { transport: this.transport });
  }

  #connectWs() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${proto}//${location.host}/ws?access_token=${encodeURIComponent(this.token)}`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch {
      this.#wsFailed();
      return;
    }
    this.ws = ws;
    let subscribed = false;
    ws.onopen = () => {
      ws.send(JSON.stringify({ type: 'subscribe', chat_id: this.chatId, after_seq: this.lastSeq }));
    };
    ws.onmessage = (msg) => {
      let ev;
      try {
        ev = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (ev.type === 'subscribed') {
        subscribed = true;
        this.wsFailures = 0;
        this.#live();
        return;
      }
      if (ev.type === 'pong' || ev.type === 'unsubscribed') return;
      if (ev.type === 'error') {
        if (ev.code === 'not_found') {
          this.closed = true;
          this.#teardown();
          this.onStatus('gone', { message: ev.message });
        }
        return;
      }
      this.#deliver(ev);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      if (!subscribed) this.#wsFailed();
      else this.#scheduleReconnect();
    };
    ws.onerror = () => {
      // onclose follows and decides
    };
  }

  #wsFailed() {
    this.wsFailures += 1;
    if (this.wsFailures >= 2) this.transport = 'sse'; // e.g. a proxy without WebSocket support
    this.#scheduleReconnect();
  }

  #connectSse() {
    const url = `/api/chats/${this.chatId}/events?after_seq=${this.lastSeq}` +
      `&access_token=${encodeURIComponent(this.token)}`;
    const es = new EventSource(url);
    this.es = es;
    const handler = (msg) => {
      let ev;
      try {
        ev = JSON.parse(msg.data);
      } catch {
        return;
      }
      this.#deliver(ev);
    };
    for (const type of EVENT_TYPES) es.addEventListener(type, handler);
    es.onmessage = handler;
    es.onopen = () => this.#live();
    es.onerror = () => {
      if (this.es !== es) return;
      // Take over reconnecting so the resume point is always our own lastSeq.
      this.#scheduleReconnect();
    };
  }
}
