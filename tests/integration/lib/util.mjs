// Small async helpers shared by the harness: sleeps, bounded waits and an awaitable queue.

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Runs `fn` until it returns a truthy value or the deadline passes (then throws, naming `what`).
export async function pollUntil(fn, { timeoutMs = 10000, intervalMs = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(intervalMs);
  }
}

// Resolves with the promise's value, or rejects after `ms` with a message naming `what`.
export function withTimeout(promise, ms, what = 'operation') {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// An ordered queue of items produced by a stream (SSE events, WebSocket frames).
// Consumers take items in order with next()/waitFor(); every item ever pushed stays in `all`.
export class EventQueue {
  constructor(label = 'stream') {
    this.label = label;
    this.items = [];
    this.all = [];
    this.waiters = [];
    this.ended = false;
    this.endError = null;
  }

  push(item) {
    this.all.push(item);
    this.items.push(item);
    this.#wake();
  }

  end(err = null) {
    if (this.ended) return;
    this.ended = true;
    this.endError = err;
    this.#wake();
  }

  #wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  #sleepUntilPush(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  // Takes items until one matches `pred` and returns it (non-matching items are skipped).
  async waitFor(pred, timeoutMs = 5000, what = 'a matching item') {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.items.length) {
        const item = this.items.shift();
        if (pred(item)) return item;
      }
      if (this.ended) {
        const why = this.endError ? `: ${this.endError.message ?? this.endError}` : '';
        throw new Error(`${this.label}: stream ended${why} while waiting for ${what}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: timed out after ${timeoutMs} ms waiting for ${what}`);
      await this.#sleepUntilPush(left);
    }
  }

  next(timeoutMs = 5000) {
    return this.waitFor(() => true, timeoutMs, 'the next item');
  }

  // Takes items up to and including the first that matches `pred`; returns them all.
  async collectUntil(pred, timeoutMs = 5000, what = 'the final item') {
    const out = [];
    await this.waitFor((item) => {
      out.push(item);
      return pred(item);
    }, timeoutMs, what);
    return out;
  }

  // Takes `n` items.
  async take(n, timeoutMs = 5000) {
    const out = [];
    const deadline = Date.now() + timeoutMs;
    while (out.length < n) out.push(await this.waitFor(() => true, Math.max(1, deadline - Date.now()), `item ${out.length + 1} of ${n}`));
    return out;
  }

  // Waits `ms` and returns the items that arrived (removing them from the queue).
  async idle(ms) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.drain();
  }

  drain() {
    const out = this.items;
    this.items = [];
    return out;
  }

  // Resolves once the stream has ended (or rejects after the timeout).
  async waitEnd(timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: did not end within ${timeoutMs} ms`);
      await this.#sleepUntilPush(left);
    }
    return this.endError;
  }
}
