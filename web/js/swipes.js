// Knowledge of sibling ids (swipes) per chat. The API tells each message its swipe_index and
// swipe_count (siblings are ordered by id) but has no call that lists sibling ids, so the client
// learns them from everything it sees: history pages, message.created events (live and replayed)
// and the responses of its own calls. Kept in localStorage so a reload keeps what it learned.

const PREFIX = 'troupe.siblings.';

export class SiblingBook {
  constructor(chatId) {
    this.key = `${PREFIX}${chatId}`;
    this.byParent = new Map(); // parent id (0 = root) -> Set of ids
    this.saveTimer = null;
    try {
      const raw = JSON.parse(localStorage.getItem(this.key) || '{}');
      for (const [parent, ids] of Object.entries(raw)) {
        if (Array.isArray(ids)) this.byParent.set(Number(parent), new Set(ids.filter(Number.isInteger)));
      }
    } catch {
      // start empty
    }
  }

  #save() {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.#write(), 200);
  }

  #write() {
    this.saveTimer = null;
    const out = {};
    for (const [parent, ids] of this.byParent) out[parent] = [...ids];
    try {
      localStorage.setItem(this.key, JSON.stringify(out));
    } catch {
      // storage full: knowledge stays in memory
    }
  }

  learn(msg) {
    if (!msg || !Number.isInteger(msg.id)) return;
    const parent = msg.parent_id ?? 0;
    let set = this.byParent.get(parent);
    if (!set) this.byParent.set(parent, (set = new Set()));
    if (!set.has(msg.id)) {
      set.add(msg.id);
      this.#save();
    }
  }

  // A new chat stores the greeting and its alternate greetings together, in order, so their ids
  // form one consecutive block: the first `greetings` siblings of the root message.
  // `exclude`: ids known to be other messages (never taken for greetings).
  learnGreetings(root, greetings, exclude = new Set()) {
    if (!root || root.parent_id !== null || root.swipe_index >= greetings) return;
    const first = root.id - root.swipe_index;
    const n = Math.min(greetings, root.swipe_count);
    for (const [parent, ids] of this.byParent) {
      if (parent !== 0) for (const id of ids) exclude.add(id);
    }
    for (let i = 0; i < n; i++) {
      if (exclude.has(first + i)) break;
      this.learn({ id: first + i, parent_id: null });
    }
  }

  forget(id) {
    for (const set of this.byParent.values()) {
      if (set.delete(id)) this.#save();
    }
  }

  // The id to select when moving `dir` (-1 / +1) from `msg`, or null when it is not known.
  target(msg, dir) {
    const set = this.byParent.get(msg.parent_id ?? 0) || new Set();
    const ids = [...new Set([...set, msg.id])].sort((a, b) => a - b);
    const want = msg.swipe_index + dir;
    if (want < 0 || want >= msg.swipe_count) return null;
    if (ids.length === msg.swipe_count) return ids[want];
    // Partial knowledge: the nearest known sibling in that direction.
    const pos = ids.indexOf(msg.id);
    const next = ids[pos + dir];
    return next === undefined ? null : next;
  }

  dispose() {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer);
      this.#write();
    }
  }
}

export function clearAllSiblingBooks() {
  try {
    for (let i = localStorage.length - 1; i >= 0; i--) {
      const k = localStorage.key(i);
      if (k && k.startsWith(PREFIX)) localStorage.removeItem(k);
    }
  } catch {
    // ignore
  }
}
