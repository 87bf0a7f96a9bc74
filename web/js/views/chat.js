// The chat view: history (paged while scrolling up), live streaming over WS/SSE with resume,
// composer, swipes, regenerate / continue / stop, edit, delete, branch.
//
// Event bookkeeping: `historySeq` is the chat's last_seq when the history was loaded; events at or
// below it are already reflected in what is shown. The stream subscribes a little earlier than
// that (BACKFILL events) so that the client can learn sibling ids from replayed message.created
// events and, after a reload during a reply, rebuild the reply's exact text from its tokens
// (the stored partial text is only flushed about once a second).

import { confirmDialog, debounce, h, toast } from '../dom.js';
import { icon } from '../icons.js';
import { ChatStream } from '../stream.js';
import { SiblingBook } from '../swipes.js';
import { chatList, personaPicker, startChat } from './chatlist.js';
import { openMemoryInspector } from './memoryInspector.js';
import { MessageView } from './message.js';

const PAGE = 40;
const BACKFILL = 2000;
const SIM_LABEL = 'simulated replies (sim backend, not a language model)';

function isEditable(el) {
  return el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
}

export async function mount(container, app, { id: chatId }) {
  const api = app.api;
  const chat0 = await api.getChat(chatId);
  const [character, personas] = await Promise.all([
    api.getCharacter(chat0.character_id),
    api.listPersonas().then((r) => r.personas).catch(() => []),
  ]);
  document.title = `${character.name} · Troupe`;
  document.body.classList.add('is-chat');
  container.className = 'chat-main';

  // persona_id 0: the user's default persona at the time of each reply (or none).
  const persona = personas.find((p) => (chat0.persona_id ? p.id === chat0.persona_id : p.is_default)) || null;
  const siblings = new SiblingBook(chatId);
  const state = {
    chat: chat0,
    path: [], // loaded part of the selected path, oldest first
    views: new Map(), // message id -> MessageView
    nextBefore: null,
    historySeq: 0,
    finished: new Set(), // ids of generations whose end this page has seen (the latest few)
    running: null, // { gen, messageId, text, exact, stored, live }
    busy: false,
    backend: null,
    destroyed: false,
    loadingOlder: false,
  };

  // ---------------------------------------------------------------- layout
  const ctx = {
    app,
    userName: () => persona?.name || 'You',
    characterName: () => character.name,
    characterAvatar: () => app.avatars.element(character, { size: 'sm', shape: 'round' }),
    swipe: (m, dir) => swipe(m, dir),
    regenerate: (m) => generate('regenerate', m),
    continueReply: (m) => generate('continue', m),
    edit: (m, text) => editMessage(m, text),
    remove: (m) => removeMessage(m),
    branch: (m) => branch(m),
    refresh: () => decorate(),
    inspectMemories: (m, opener) => openMemoryInspector(m, { api, chatId, opener, jump: jumpTo }),
  };

  // Scrolls to a loaded message and focuses it (the memory inspector's "Show in chat").
  function jumpTo(messageId, before) {
    const v = state.views.get(messageId);
    if (!v) return false;
    before();
    v.el.tabIndex = -1;
    v.el.classList.add('msg-flash');
    v.el.scrollIntoView({ block: 'center' });
    v.el.focus({ preventScroll: true });
    setTimeout(() => v.el.classList.remove('msg-flash'), 2000);
    return true;
  }

  const list = h('ol', { class: 'message-list', 'aria-label': 'Messages' });
  const olderBtn = h('button', { type: 'button', class: 'btn btn-small', text: 'Load earlier messages', hidden: true });
  const historyStart = h('p', { class: 'history-start', hidden: true, text: 'This is the start of the chat.' });
  const sentinel = h('div', { class: 'history-sentinel', 'aria-hidden': 'true' });
  const historyTop = h('div', { class: 'history-top' }, sentinel, olderBtn, historyStart);
  const scroller = h('div', { class: 'messages', role: 'log', 'aria-live': 'off', tabindex: '0', 'aria-label': `Conversation with ${character.name}` }, historyTop, list);
  const announcer = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });

  const simBanner = h('p', { class: 'sim-banner', hidden: true, 'data-testid': 'sim-label' }, h('span', { class: 'sim-dot', 'aria-hidden': 'true' }), SIM_LABEL);
  const conn = h('span', { class: 'conn conn-connecting', role: 'status', text: 'connecting…' });

  const input = h('textarea', {
    id: 'composer-input', rows: 1, name: 'message', autocomplete: 'off',
    placeholder: `Message ${character.name}…`, 'aria-describedby': 'composer-hint',
  });
  const sendBtn = h('button', { type: 'submit', class: 'btn btn-primary composer-send', 'aria-label': 'Send message' }, icon('send'), h('span', { class: 'btn-text', text: 'Send' }));
  const stopBtn = h('button', { type: 'button', class: 'btn btn-danger composer-stop', hidden: true, 'aria-label': 'Stop the reply' }, icon('stop'), h('span', { class: 'btn-text', text: 'Stop' }));
  const composer = h('form', { class: 'composer', 'aria-label': 'Write a message' },
    h('label', { for: 'composer-input', class: 'visually-hidden', text: `Message to ${character.name}` }),
    input, sendBtn, stopBtn,
    h('p', { id: 'composer-hint', class: 'composer-hint', text: 'Enter to send · Shift+Enter for a new line · ←/→ on an empty box to swipe' }));

  const sidebarId = 'chat-sidebar';
  const toggle = h('button', {
    type: 'button', class: 'btn btn-icon btn-ghost sidebar-toggle', 'aria-label': 'Show chats', 'aria-expanded': 'false', 'aria-controls': sidebarId,
  }, icon('menu'));
  const picker = await personaPicker(app, { label: 'Chat as' });
  const newChatBtn = h('button', { type: 'button', class: 'btn btn-primary btn-small', text: 'New chat' });
  newChatBtn.addEventListener('click', async () => {
    newChatBtn.disabled = true;
    try {
      await startChat(app, character, picker.value());
    } catch (e) {
      toast(`Could not start a chat: ${e.message}`, 'error');
      newChatBtn.disabled = false;
    }
  });
  const chats = chatList(app, character.id, { currentId: chatId, compact: true });
  const closeSidebar = h('button', { type: 'button', class: 'btn btn-icon btn-ghost sidebar-close', 'aria-label': 'Hide chats' }, icon('close'));
  const sidebar = h('aside', { class: 'chat-sidebar', id: sidebarId, 'aria-label': `Chats with ${character.name}` },
    h('div', { class: 'sidebar-head' },
      h('a', { href: `#/characters/${character.id}`, class: 'sidebar-char' },
        app.avatars.element(character, { size: 'md', shape: 'round' }),
        h('span', { text: character.name })),
      closeSidebar),
    h('div', { class: 'sidebar-new' }, picker.el, newChatBtn),
    h('h2', { class: 'sidebar-title', text: 'Chats' }),
    chats.el);
  const scrim = h('div', { class: 'sidebar-scrim', 'aria-hidden': 'true' });
  const setSidebar = (open) => {
    sidebar.classList.toggle('open', open);
    scrim.classList.toggle('open', open);
    toggle.setAttribute('aria-expanded', String(open));
    if (open) sidebar.querySelector('a, button, select')?.focus();
  };
  scrim.addEventListener('click', () => setSidebar(false));
  sidebar.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && sidebar.classList.contains('open')) {
      setSidebar(false);
      toggle.focus();
    }
  });
  toggle.addEventListener('click', () => setSidebar(!sidebar.classList.contains('open')));
  closeSidebar.addEventListener('click', () => {
    setSidebar(false);
    toggle.focus();
  });

  const title = h('p', { class: 'chat-sub' });
  const header = h('header', { class: 'chat-header' },
    toggle,
    h('a', { href: `#/characters/${character.id}`, class: 'chat-avatar-link', 'aria-label': `About ${character.name}` },
      app.avatars.element(character, { size: 'md', shape: 'round' })),
    h('div', { class: 'chat-heading' }, h('h1', { text: character.name }), title),
    conn);
  const jump = h('button', { type: 'button', class: 'btn btn-small jump-latest', hidden: true, text: '↓ Latest' });
  jump.setAttribute('aria-label', 'Scroll to the latest message');
  jump.addEventListener('click', () => {
    scroller.scrollTo({ top: scroller.scrollHeight, behavior: 'smooth' });
    input.focus({ preventScroll: true });
  });
  const pane = h('section', { class: 'chat-pane' }, header, simBanner, h('div', { class: 'messages-wrap' }, scroller, jump), composer, announcer);
  const shell = h('div', { class: 'chat-shell' }, sidebar, scrim, pane);
  container.appendChild(shell);

  function renderTitle() {
    title.textContent = [state.chat.title, persona ? `as ${persona.name}` : null].filter(Boolean).join(' · ');
  }
  renderTitle();

  // ---------------------------------------------------------------- rendering helpers
  const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  const scrollToBottom = () => {
    scroller.scrollTop = scroller.scrollHeight;
    pinned = true;
    jump.hidden = true;
  };

  // Follow the newest text while the view is scrolled to the bottom, whatever changes the layout
  // (streamed text, images, banners, the on-screen keyboard).
  let pinned = true;
  scroller.addEventListener('scroll', () => {
    pinned = nearBottom();
    jump.hidden = pinned;
  }, { passive: true });
  const resizeObserver = new ResizeObserver(() => {
    if (pinned) scrollToBottom();
  });
  resizeObserver.observe(scroller);
  resizeObserver.observe(list);

  let frame = 0;
  function scheduleRunningRender() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      const r = state.running;
      if (r) {
        const view = state.views.get(r.messageId);
        // While an exact rebuild from replayed tokens is still shorter than the stored partial
        // text, keep showing the stored text.
        if (view && !(r.exact && !r.live && r.text.length < r.stored.length)) view.setText(r.text);
      }
      if (pinned) scrollToBottom();
    });
  }

  function viewFor(msg) {
    let v = state.views.get(msg.id);
    if (!v) {
      v = new MessageView(msg, ctx);
      state.views.set(msg.id, v);
    }
    return v;
  }

  // Makes the DOM list match state.path.
  function renderPath() {
    const keep = new Set(state.path.map((m) => m.id));
    for (const [id, v] of state.views) {
      if (!keep.has(id)) {
        v.el.remove();
        state.views.delete(id);
      }
    }
    let prev = null;
    for (const m of state.path) {
      const v = viewFor(m);
      if (v.msg !== m) v.update(m, { text: state.running?.messageId === m.id ? state.running.text : null });
      const want = prev ? prev.nextSibling : list.firstChild;
      if (want !== v.el) list.insertBefore(v.el, want);
      prev = v.el;
    }
    decorate();
  }

  function lastMessage() {
    return state.path[state.path.length - 1] || null;
  }

  function decorate() {
    const last = lastMessage();
    const running = Boolean(state.running);
    for (const m of state.path) {
      const v = state.views.get(m.id);
      if (!v) continue;
      v.decorate({ isLast: m === last, running, busy: state.busy, canPrev: siblings.target(m, -1) !== null });
    }
    sendBtn.hidden = running;
    stopBtn.hidden = !running;
    stopBtn.disabled = Boolean(state.running?.stopping);
    olderBtn.hidden = state.nextBefore === null || state.nextBefore === undefined;
    historyStart.hidden = !olderBtn.hidden || state.path.length === 0;
  }

  function setBackend(backend) {
    if (!backend) return;
    state.backend = backend;
    simBanner.hidden = backend !== 'sim';
  }

  function learnAll(msgs) {
    for (const m of msgs) siblings.learn(m);
    const root = msgs.find((m) => m.parent_id === null);
    if (root) {
      const greetings = (character.first_mes ? 1 : 0) + (character.alternate_greetings || []).filter(Boolean).length;
      const others = new Set(state.path.filter((m) => m.parent_id !== null).map((m) => m.id));
      siblings.learnGreetings(root, greetings, others);
    }
  }

  // ---------------------------------------------------------------- loading
  // One history load at a time. Live events that arrive while one is out are held and applied
  // after its snapshot is installed: applied before, the snapshot (read earlier) would overwrite
  // them. A load asked for while one is out runs once more after it.
  const load = { current: null, next: null, held: [], overflow: false };
  const MAX_HELD = 5000;

  function loadHistory(opts = {}) {
    if (load.current) {
      if (!load.next) {
        const keepScroll = opts.keepScroll;
        load.next = load.current.catch(() => {}).then(() => {
          load.next = null;
          return loadHistory({ keepScroll });
        });
      }
      return load.next;
    }
    load.current = loadOnce(opts).finally(() => {
      load.current = null;
      const held = load.held;
      const overflow = load.overflow;
      load.held = [];
      load.overflow = false;
      if (state.destroyed) return;
      for (const ev of held) onEvent(ev);
      if (overflow && !load.next) loadHistory({ keepScroll: true }).catch(() => {});
    });
    return load.current;
  }

  function holdEvent(ev) {
    if (load.held.length < MAX_HELD) load.held.push(ev);
    else load.overflow = true;
  }

  async function loadOnce({ keepScroll = false } = {}) {
    const chat = await api.getChat(chatId);
    const page = await api.listMessages(chatId, { limit: PAGE });
    if (state.destroyed) return;
    state.chat = chat;
    state.historySeq = Math.max(state.historySeq, chat.last_seq);
    state.path = page.messages;
    state.nextBefore = page.next_before;
    learnAll(page.messages);
    let gen = chat.generation && chat.generation.status === 'running' ? chat.generation : null;
    // The snapshot may still call running a reply whose end this page has already seen.
    if (gen && state.finished.has(gen.id)) gen = null;
    if (gen) {
      const msg = state.path.find((m) => m.id === gen.message_id);
      const stored = msg ? msg.content : '';
      if (!state.running || state.running.gen.id !== gen.id) {
        state.running = { gen, messageId: gen.message_id, text: stored, stored, exact: false, live: false };
      }
      if (msg && msg.status !== 'streaming') msg.status = 'streaming';
      setBackend(gen.backend);
    } else {
      state.running = null;
    }
    renderTitle();
    const stickNow = !keepScroll || nearBottom();
    renderPath();
    if (state.running) scheduleRunningRender();
    if (stickNow) scrollToBottom();
  }

  async function loadOlder() {
    if (state.loadingOlder || state.nextBefore === null || state.nextBefore === undefined) return;
    state.loadingOlder = true;
    olderBtn.disabled = true;
    try {
      const before = state.nextBefore;
      const page = await api.listMessages(chatId, { before, limit: PAGE });
      if (state.destroyed || before !== state.nextBefore) return;
      const known = new Set(state.path.map((m) => m.id));
      const older = page.messages.filter((m) => !known.has(m.id));
      learnAll(older);
      const h0 = scroller.scrollHeight;
      const top0 = scroller.scrollTop;
      state.path = [...older, ...state.path];
      state.nextBefore = page.next_before;
      renderPath();
      scroller.scrollTop = top0 + (scroller.scrollHeight - h0);
    } catch (e) {
      toast(`Could not load earlier messages: ${e.message}`, 'error');
    } finally {
      state.loadingOlder = false;
      olderBtn.disabled = false;
    }
  }
  olderBtn.addEventListener('click', loadOlder);

  const observer = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) loadOlder();
  }, { root: scroller, rootMargin: '300px 0px 0px 0px' });

  const reloadSoon = debounce(() => {
    if (!state.destroyed && !state.running) loadHistory({ keepScroll: true }).catch(() => {});
  }, 150);

  // ---------------------------------------------------------------- generations
  function beginGeneration(gen, reply, base) {
    setBackend(gen.backend);
    if (state.running && state.running.gen.id === gen.id) return;
    // The answer to the request that started it can arrive after its finish event.
    if (state.finished.has(gen.id)) return;
    state.running = { gen, messageId: gen.message_id, text: base, stored: base, exact: true, live: true };
    if (reply) upsert(reply);
    const m = state.path.find((x) => x.id === gen.message_id);
    if (m) {
      m.status = 'streaming';
      state.views.get(m.id)?.setStatus('streaming');
    }
    decorate();
    scheduleRunningRender();
  }

  function finishGeneration(gen, msg) {
    setBackend(gen.backend);
    state.finished.add(gen.id);
    if (state.finished.size > 64) state.finished.delete(state.finished.values().next().value);
    const r = state.running;
    if (r && r.gen.id === gen.id) state.running = null;
    if (msg) {
      siblings.learn(msg);
      const view = state.views.get(msg.id);
      if (view) view.error = gen.error || '';
      upsert(msg, { replaceText: true });
    }
    decorate();
    if (nearBottom()) scrollToBottom();
    const who = character.name;
    announcer.textContent = gen.status === 'completed' ? `${who} replied.` : `Reply ${gen.status}${gen.error ? `: ${gen.error}` : ''}.`;
    if (gen.status === 'failed') toast(`The reply failed${gen.error ? `: ${gen.error}` : ''}.`, 'error');
  }

  // Puts `msg` on the displayed path: updates it in place, or, when its parent is shown, replaces
  // everything below the parent with it (a new reply, a regenerated swipe).
  function upsert(msg, { replaceText = false } = {}) {
    siblings.learn(msg);
    const idx = state.path.findIndex((m) => m.id === msg.id);
    if (idx >= 0) {
      const runningHere = state.running?.messageId === msg.id;
      const merged = { ...state.path[idx], ...msg };
      if (runningHere && !replaceText) {
        merged.content = state.path[idx].content;
        merged.status = 'streaming';
      }
      state.path[idx] = merged;
      const v = state.views.get(msg.id);
      v?.update(merged, { text: runningHere && !replaceText ? state.running.text : null });
      decorate();
      return;
    }
    if (msg.parent_id === null) return;
    const p = state.path.findIndex((m) => m.id === msg.parent_id);
    if (p < 0) {
      reloadSoon();
      return;
    }
    const stick = nearBottom();
    state.path = [...state.path.slice(0, p + 1), msg];
    renderPath();
    if (stick) scrollToBottom();
  }

  function onEvent(ev) {
    if (state.destroyed) return;
    if (load.current) {
      holdEvent(ev);
      return;
    }
    const backfill = ev.seq <= state.historySeq;
    const r = state.running;
    switch (ev.type) {
      case 'message.created':
        siblings.learn(ev.message);
        if (!backfill) upsert(ev.message);
        else decorate();
        break;
      case 'generation.started':
        if (backfill) {
          // Replay of the reply that is still running: rebuild its text from its tokens.
          if (r && r.gen.id === ev.generation.id && ev.generation.kind !== 'continue') {
            r.exact = true;
            r.text = '';
          }
        } else {
          const v = state.views.get(ev.generation.message_id);
          const base = ev.generation.kind === 'continue' && v ? v.msg.content : '';
          beginGeneration(ev.generation, null, base);
        }
        break;
      case 'token':
        if (r && r.gen.id === ev.generation_id) {
          if (backfill) {
            if (r.exact) r.text += ev.text;
          } else {
            r.live = true;
            r.text += ev.text;
          }
          scheduleRunningRender();
        }
        break;
      case 'generation.finished':
        siblings.learn(ev.message);
        if (!backfill || (r && r.gen.id === ev.generation.id)) finishGeneration(ev.generation, ev.message);
        break;
      case 'message.updated':
        if (!backfill) upsert(ev.message, { replaceText: true });
        break;
      case 'message.deleted':
        siblings.forget(ev.message_id);
        if (!backfill && state.path.some((m) => m.id === ev.message_id)) {
          const i = state.path.findIndex((m) => m.id === ev.message_id);
          state.path = state.path.slice(0, i);
          renderPath();
          reloadSoon();
        }
        break;
      case 'chat.updated':
        if (!backfill && ev.chat) {
          state.chat = { ...state.chat, title: ev.chat.title, leaf_id: ev.chat.leaf_id };
          renderTitle();
          const last = lastMessage();
          if (!state.running && !state.busy && last && ev.chat.leaf_id !== last.id) reloadSoon();
        }
        break;
      case 'resync':
        if (ev.seq > state.historySeq) loadHistory({ keepScroll: true }).catch(() => {});
        break;
      default:
        break;
    }
  }

  const STATUS = {
    connecting: ['conn-connecting', 'connecting…'],
    live: ['conn-live', 'live'],
    reconnecting: ['conn-reconnecting', 'reconnecting…'],
    closed: ['conn-closed', 'offline'],
    gone: ['conn-closed', 'chat unavailable'],
  };
  function onStatus(s, detail = {}) {
    const [cls, text] = STATUS[s] || STATUS.closed;
    conn.className = `conn ${cls}`;
    conn.textContent = text;
    conn.title = s === 'live' ? `Live updates over ${detail.transport === 'sse' ? 'Server-Sent Events' : 'WebSocket'}` : '';
    conn.dataset.transport = detail.transport || '';
  }

  // ---------------------------------------------------------------- actions
  async function withBusy(fn) {
    if (state.busy) return undefined;
    state.busy = true;
    decorate();
    try {
      return await fn();
    } finally {
      state.busy = false;
      if (!state.destroyed) decorate();
    }
  }

  async function send() {
    const content = input.value;
    if (!content.trim()) return;
    if (state.running) {
      toast('Wait for the reply to finish, or stop it first.');
      return;
    }
    input.value = '';
    autoGrow();
    const key = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`;
    await withBusy(async () => {
      try {
        const res = await api.sendMessage(chatId, content, key);
        upsert(res.message);
        beginGeneration(res.generation, res.reply, '');
        scrollToBottom();
      } catch (e) {
        if (!input.value) input.value = content;
        autoGrow();
        toast(e.status === 409 ? 'A reply is still being written.' : `Could not send: ${e.message}`, 'error');
      }
    });
  }

  async function generate(kind, m) {
    if (state.running) return;
    await withBusy(async () => {
      try {
        const res = await api.generate(chatId, kind, m.id);
        beginGeneration(res.generation, res.reply, kind === 'continue' ? res.reply.content : '');
        scrollToBottom();
      } catch (e) {
        toast(`Could not ${kind}: ${e.message}`, 'error');
      }
    });
  }

  async function swipe(m, dir) {
    if (state.running || state.busy || !m || m.role !== 'assistant') return;
    const target = siblings.target(m, dir);
    const last = lastMessage();
    if (target === null) {
      if (dir > 0 && m === last && m.parent_id !== null) await generate('regenerate', m);
      return;
    }
    await withBusy(async () => {
      try {
        await api.selectMessage(target);
        await loadHistory();
        const v = state.views.get(lastMessage()?.id);
        announcer.textContent = v ? `Reply ${v.msg.swipe_index + 1} of ${v.msg.swipe_count}` : '';
      } catch (e) {
        if (e.status === 404) siblings.forget(target);
        toast(`Could not switch replies: ${e.message}`, 'error');
      }
    });
    // Keep focus on the swipe control the user pressed.
    if (document.activeElement === document.body || !document.activeElement) {
      state.views.get(lastMessage()?.id)?.swipes.querySelector(dir < 0 ? '[data-swipe="prev"]' : '[data-swipe="next"]')?.focus();
    }
  }

  async function editMessage(m, text) {
    try {
      const updated = await api.editMessage(m.id, text);
      upsert(updated, { replaceText: true });
      return true;
    } catch (e) {
      toast(`Could not save the edit: ${e.message}`, 'error');
      return false;
    }
  }

  async function removeMessage(m) {
    const ok = await confirmDialog({
      title: 'Delete this message?',
      message: 'The message and everything below it on this path will be deleted.',
    });
    if (!ok) return;
    await withBusy(async () => {
      try {
        await api.deleteMessage(m.id);
        siblings.forget(m.id);
        await loadHistory({ keepScroll: true });
        toast('Message deleted.');
      } catch (e) {
        toast(`Could not delete: ${e.message}`, 'error');
      }
    });
    input.focus();
  }

  async function branch(m) {
    await withBusy(async () => {
      try {
        const chat = await api.branchFrom(m.id);
        toast('Branched into a new chat.', 'success');
        app.navigate(`#/chats/${chat.id}`);
      } catch (e) {
        toast(`Could not branch: ${e.message}`, 'error');
      }
    });
  }

  async function stop() {
    const r = state.running;
    if (!r || r.stopping) return;
    r.stopping = true;
    decorate();
    stopBtn.querySelector('.btn-text').textContent = 'Stopping…';
    try {
      await api.stopGeneration(r.gen.id);
    } catch (e) {
      r.stopping = false;
      toast(`Could not stop: ${e.message}`, 'error');
    } finally {
      stopBtn.querySelector('.btn-text').textContent = 'Stop';
      if (!state.destroyed) decorate();
    }
    input.focus();
  }

  // ---------------------------------------------------------------- composer and keys
  function autoGrow() {
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight, Math.round(window.innerHeight * 0.35))}px`;
  }
  input.addEventListener('input', autoGrow);
  composer.addEventListener('submit', (e) => {
    e.preventDefault();
    send();
  });
  stopBtn.addEventListener('click', stop);

  function swipeKey(e) {
    if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return false;
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return false;
    const last = lastMessage();
    if (!last || last.role !== 'assistant') return false;
    e.preventDefault();
    swipe(last, e.key === 'ArrowLeft' ? -1 : +1);
    return true;
  }
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      send();
      return;
    }
    if (input.value === '') swipeKey(e);
  });
  const onDocKey = (e) => {
    if (e.defaultPrevented || isEditable(e.target) || e.target.closest?.('dialog, .chat-sidebar')) return;
    if (e.target.tagName === 'BUTTON' && !e.target.closest('.msg-swipes')) return;
    swipeKey(e);
  };
  document.addEventListener('keydown', onDocKey);

  // ---------------------------------------------------------------- start
  await loadHistory();
  if (!state.backend) {
    const lastGen = [...state.path].reverse().find((m) => m.generation_id);
    if (lastGen) api.getGeneration(lastGen.generation_id).then((g) => setBackend(g.backend)).catch(() => {});
  }
  observer.observe(sentinel);
  const stream = new ChatStream({
    chatId,
    token: app.token,
    afterSeq: Math.max(0, state.historySeq - BACKFILL),
    onEvent,
    onStatus,
  }).start();
  input.focus();

  return {
    destroy() {
      state.destroyed = true;
      stream.close();
      observer.disconnect();
      resizeObserver.disconnect();
      reloadSoon.cancel();
      if (frame) cancelAnimationFrame(frame);
      document.removeEventListener('keydown', onDocKey);
      siblings.dispose();
      document.body.classList.remove('is-chat');
    },
  };
}
