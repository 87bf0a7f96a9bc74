// Rendering of one chat message (bubble, status, swipe control, actions, extension panels).
// The chat controller owns the state and passes callbacks in `ctx`.

import { formatTime, h } from '../dom.js';
import { icon } from '../icons.js';
import { renderInto } from '../markdown.js';

// Per-reply panels shown under assistant messages, e.g. a future "memories" inspector:
// registerReplyPanel({ id: 'memories', label: 'Memories', render(message, app) => Node|Promise<Node> }).
// Each registered panel appears as a collapsed disclosure that renders on first open.
const replyPanels = [];
export function registerReplyPanel(panel) {
  replyPanels.push(panel);
}

const STATUS_TEXT = {
  streaming: 'writing…',
  stopped: 'stopped',
  failed: 'failed',
  interrupted: 'interrupted',
};

function iconButton(name, label, onClick, extra = {}) {
  const b = h('button', { type: 'button', class: 'btn btn-icon btn-ghost', 'aria-label': label, title: label, ...extra }, icon(name));
  b.addEventListener('click', onClick);
  return b;
}

export class MessageView {
  constructor(msg, ctx) {
    this.ctx = ctx;
    this.msg = msg;
    this.rendered = null;
    this.error = '';
    const isUser = msg.role === 'user';
    this.body = h('div', { class: 'msg-body md' });
    this.status = h('span', { class: 'msg-status', hidden: true });
    this.time = h('time', { class: 'msg-time' });
    this.author = h('span', { class: 'msg-author' });
    this.swipes = h('div', { class: 'msg-swipes', role: 'group', 'aria-label': 'Alternative replies', hidden: true });
    this.actions = h('div', { class: 'msg-actions', role: 'group', 'aria-label': 'Message actions' });
    this.panels = h('div', { class: 'msg-panels' });
    this.editor = null;
    this.avatar = isUser
      ? h('span', { class: 'avatar avatar-sm avatar-round avatar-user', 'aria-hidden': 'true' },
        h('span', { class: 'avatar-initials', text: (ctx.userName() || 'You').slice(0, 1).toUpperCase() }))
      : ctx.characterAvatar();
    this.el = h('li', { class: `msg msg-${msg.role}`, 'data-message-id': msg.id },
      h('div', { class: 'msg-avatar' }, this.avatar),
      h('div', { class: 'msg-main' },
        h('div', { class: 'msg-meta' }, this.author, this.status, this.time, this.actions),
        this.body, this.swipes, this.panels));
    this.update(msg, { force: true });
  }

  // Re-renders fields that changed. `text` overrides msg.content (live streaming text).
  update(msg, { text = null, force = false } = {}) {
    this.msg = msg;
    const isUser = msg.role === 'user';
    this.el.dataset.status = msg.status;
    this.author.textContent = isUser ? (this.ctx.userName() || 'You') : this.ctx.characterName();
    this.time.textContent = formatTime(msg.created_at);
    if (msg.created_at) this.time.dateTime = new Date(msg.created_at).toISOString();
    this.setText(text ?? msg.content, force);
    this.setStatus(msg.status);
  }

  setText(text, force = false) {
    if (this.editor) return;
    if (!force && text === this.rendered) return;
    this.rendered = text;
    renderInto(this.body, text);
    this.body.classList.toggle('is-empty', !text);
  }

  setStatus(status) {
    this.el.classList.toggle('streaming', status === 'streaming');
    const label = STATUS_TEXT[status];
    this.status.hidden = !label;
    this.status.className = `msg-status status-${status}`;
    this.status.textContent = label ? (status === 'failed' && this.error ? `failed: ${this.error}` : label) : '';
  }

  #buildControls() {
    const m = () => this.msg;
    const b = {};
    b.prev = iconButton('left', 'Previous reply', () => this.#guard(b.prev, () => this.ctx.swipe(m(), -1)), { 'data-swipe': 'prev' });
    b.next = iconButton('right', 'Next reply', () => this.#guard(b.next, () => this.ctx.swipe(m(), +1)), { 'data-swipe': 'next' });
    b.counter = h('span', { class: 'swipe-count' });
    this.swipes.append(b.prev, b.counter, b.next);
    b.regen = iconButton('regenerate', 'Regenerate reply', () => this.#guard(b.regen, () => this.ctx.regenerate(m())), { 'data-action': 'regenerate' });
    b.cont = iconButton('continue', 'Continue reply', () => this.#guard(b.cont, () => this.ctx.continueReply(m())), { 'data-action': 'continue' });
    b.edit = iconButton('edit', 'Edit message', () => this.#guard(b.edit, () => this.startEdit()), { 'data-action': 'edit' });
    b.branch = iconButton('branch', 'Branch: new chat from here', () => this.#guard(b.branch, () => this.ctx.branch(m())), { 'data-action': 'branch' });
    b.mem = iconButton('memory', 'Memories used for this reply', () => this.ctx.inspectMemories(m(), b.mem), { 'data-action': 'memories' });
    b.del = iconButton('trash', 'Delete message and everything below', () => this.#guard(b.del, () => this.ctx.remove(m())), { 'data-action': 'delete' });
    this.actions.append(b.regen, b.cont, b.mem, b.edit, b.branch, b.del);
    this.btn = b;
  }

  // Buttons use aria-disabled (they keep focus while a request runs); clicks are ignored then.
  #guard(button, fn) {
    if (button.getAttribute('aria-disabled') === 'true') return;
    fn();
  }

  // Swipe control and action buttons; `opts` comes from the controller.
  decorate({ isLast, running, canPrev, busy }) {
    if (!this.btn) this.#buildControls();
    const b = this.btn;
    const m = this.msg;
    const assistant = m.role === 'assistant';
    this.el.classList.toggle('last', isLast);
    const lock = running || busy;
    const dis = (el, off) => el.setAttribute('aria-disabled', off ? 'true' : 'false');

    // Swipes: any assistant message with siblings; the last reply may always swipe right
    // (past its last sibling that generates a new one).
    const showSwipes = assistant && (m.swipe_count > 1 || (isLast && m.parent_id !== null));
    this.swipes.hidden = !showSwipes;
    if (showSwipes) {
      const atEnd = m.swipe_index >= m.swipe_count - 1;
      dis(b.prev, lock || !canPrev);
      dis(b.next, lock || (atEnd && !isLast));
      const nextLabel = isLast && atEnd ? 'Next reply (generates a new one)' : 'Next reply';
      b.next.setAttribute('aria-label', nextLabel);
      b.next.title = nextLabel;
      b.counter.textContent = `${m.swipe_index + 1} / ${m.swipe_count}`;
      b.counter.setAttribute('aria-label', `Reply ${m.swipe_index + 1} of ${m.swipe_count}`);
    }

    this.actions.hidden = Boolean(this.editor);
    const tail = assistant && isLast && m.parent_id !== null;
    b.regen.hidden = !tail;
    b.cont.hidden = !tail;
    for (const el of [b.regen, b.cont, b.edit, b.branch, b.del]) dis(el, lock);
    // The memory inspector reads what is recorded, so it stays usable while a reply runs.
    b.mem.hidden = !(assistant && m.generation_id && this.ctx.inspectMemories);

    if (assistant && replyPanels.length && !this.panels.childElementCount) {
      for (const p of replyPanels) {
        const content = h('div', { class: 'panel-body' });
        const d = h('details', { class: 'reply-panel', 'data-panel': p.id }, h('summary', { text: p.label }), content);
        let loaded = false;
        d.addEventListener('toggle', async () => {
          if (!d.open || loaded) return;
          loaded = true;
          try {
            content.replaceChildren(await p.render(this.msg, this.ctx.app));
          } catch (e) {
            content.textContent = `Could not load: ${e.message}`;
          }
        });
        this.panels.appendChild(d);
      }
    }
  }

  startEdit() {
    if (this.editor) return;
    const ta = h('textarea', { class: 'edit-box', rows: Math.min(12, Math.max(3, this.msg.content.split('\n').length + 1)), 'aria-label': 'Edit message text', value: this.msg.content });
    const save = h('button', { type: 'button', class: 'btn btn-primary btn-small', text: 'Save' });
    const cancel = h('button', { type: 'button', class: 'btn btn-small', text: 'Cancel' });
    const hint = h('span', { class: 'hint', text: 'Ctrl+Enter to save, Esc to cancel' });
    const done = () => {
      this.editor?.remove();
      this.editor = null;
      this.body.hidden = false;
      this.setText(this.msg.content, true);
      this.ctx.refresh();
    };
    const submit = async () => {
      save.disabled = true;
      const ok = await this.ctx.edit(this.msg, ta.value);
      save.disabled = false;
      if (ok) {
        done();
        this.actions.querySelector('[data-action="edit"]')?.focus();
      }
    };
    save.addEventListener('click', submit);
    cancel.addEventListener('click', () => {
      done();
      this.actions.querySelector('[data-action="edit"]')?.focus();
    });
    ta.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        submit();
      } else if (e.key === 'Escape') {
        e.preventDefault();
        cancel.click();
      }
    });
    this.editor = h('div', { class: 'msg-editor' }, ta, h('div', { class: 'editor-actions' }, hint, cancel, save));
    this.body.hidden = true;
    this.body.after(this.editor);
    this.actions.hidden = true;
    ta.focus();
    ta.setSelectionRange(ta.value.length, ta.value.length);
  }
}
