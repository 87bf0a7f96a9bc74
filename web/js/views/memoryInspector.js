// Memory inspector: for one assistant reply, the memories its prompt used (GET
// /api/generations/{id}/memories) with the parts of their score, the retrieval mode, and jumps to
// the source messages; plus a search of what the character remembers (GET
// /api/chats/{id}/memories?query=). A modal <dialog>: Escape closes it, focus goes back to the
// button that opened it. All text goes in through textContent (dom.js), never as markup.

import { debounce, formatTime, h, uniqueId } from '../dom.js';

const MODE_TEXT = {
  vector: 'Vector search',
  keyword: 'Keyword fallback',
  off: 'Memory off',
};

const MODE_HINT = {
  vector: 'Memories were found by meaning (embedding similarity).',
  keyword: 'Vector search was unavailable, so memories were found by matching words.',
  off: 'No memories were searched for this reply.',
};

function modeBadge(mode) {
  const known = Object.hasOwn(MODE_TEXT, mode ?? '') ? mode : null;
  return h('p', { class: `mem-mode mem-mode-${known || 'none'}`, 'data-testid': 'retrieval-mode', 'data-mode': known || 'none' },
    h('strong', { text: known ? MODE_TEXT[known] : 'Not recorded' }),
    ' ',
    h('span', { class: 'hint', text: known ? MODE_HINT[known] : 'This reply has no record of a memory search.' }));
}

// One labelled number with a small bar; `max` scales the bar (score may exceed 1).
function meter(label, value, max = 1) {
  const v = Number.isFinite(value) ? value : 0;
  const pct = Math.max(0, Math.min(100, (v / max) * 100));
  const bar = h('span', { class: 'mem-bar-fill' });
  bar.style.width = `${pct.toFixed(1)}%`;
  return h('div', { class: `mem-meter mem-${label.toLowerCase()}`, 'data-part': label.toLowerCase() },
    h('span', { class: 'mem-meter-label', text: label }),
    h('span', { class: 'mem-bar', role: 'meter', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': String(max), 'aria-valuenow': v.toFixed(3) }, bar),
    h('span', { class: 'mem-meter-value', text: v.toFixed(2) }));
}

// `opts.jump(messageId, closeFirst)` closes the panel and scrolls to a message of this chat;
// false (panel left open) when that message is not loaded.
function memoryItem(m, { chatId, scoreMax, jump, close, showWindow, showRank }) {
  const meta = h('p', { class: 'mem-meta' });
  if (showRank) meta.append(h('span', { class: 'mem-rank', text: `#${m.rank + 1}` }), ' ');
  meta.append(h('span', { class: 'mem-speaker', text: m.speaker === 'user' ? 'You said' : m.speaker === 'assistant' ? 'Character said' : m.speaker }));
  if (m.created_at) meta.append(' · ', h('time', { dateTime: new Date(m.created_at).toISOString(), text: formatTime(m.created_at) }));
  if (showWindow && m.in_window) meta.append(' ', h('span', { class: 'mem-flag', 'data-testid': 'in-window', text: 'in the prompt window' }));

  let source;
  if (m.chat_id === chatId) {
    source = h('button', { type: 'button', class: 'btn btn-small btn-ghost mem-jump', 'data-message-id': m.message_id, text: 'Show in chat' });
    source.addEventListener('click', () => {
      if (jump(m.message_id, () => close(false))) return;
      source.textContent = 'Not loaded yet: scroll up in the chat';
    });
  } else {
    source = h('a', { class: 'mem-link', href: `#/chats/${m.chat_id}`, text: `From chat ${m.chat_id}` });
  }

  return h('li', { class: 'mem-item', 'data-memory-id': m.id },
    meta,
    h('blockquote', { class: 'mem-text', text: m.text }),
    h('div', { class: 'mem-meters' },
      meter('Relevance', m.relevance),
      meter('Recency', m.recency),
      meter('Importance', m.importance),
      meter('Score', m.score, scoreMax)),
    h('p', { class: 'mem-source' }, source));
}

function memoryList(items, opts) {
  if (!items.length) return h('p', { class: 'mem-empty', text: opts.empty });
  const scoreMax = Math.max(1, ...items.map((m) => m.score || 0));
  return h('ol', { class: 'mem-list' }, items.map((m) => memoryItem(m, { ...opts, scoreMax })));
}

// Opens the inspector for `msg` (an assistant message with a generation_id).
export function openMemoryInspector(msg, { api, chatId, jump, opener }) {
  const titleId = uniqueId('mem');
  const closeBtn = h('button', { type: 'button', class: 'btn btn-small', 'aria-label': 'Close memory inspector', text: 'Close' });
  const usedBox = h('div', { class: 'mem-used', 'aria-busy': 'true' }, h('p', { class: 'hint', text: 'Loading…' }));
  const search = h('input', { type: 'search', class: 'mem-search-input', placeholder: 'What does the character remember about…', 'aria-label': 'Search memories', maxlength: '4096' });
  const searchBox = h('div', { class: 'mem-results', 'aria-live': 'polite' });
  const dialog = h('dialog', { class: 'dialog mem-dialog', 'aria-labelledby': titleId, 'data-testid': 'memory-inspector' },
    h('header', { class: 'mem-head' }, h('h2', { id: titleId, text: 'Memories for this reply' }), closeBtn),
    usedBox,
    h('section', { class: 'mem-search', 'aria-labelledby': `${titleId}-search` },
      h('h3', { id: `${titleId}-search`, text: 'Explore memories' }),
      h('form', { class: 'mem-search-form', role: 'search' }, search),
      searchBox));

  let refocus = true;
  // `returnFocus` false: a jump moves focus to the source message instead of the opener.
  const close = (returnFocus = true) => {
    refocus = returnFocus;
    if (dialog.open) dialog.close();
  };
  closeBtn.addEventListener('click', () => close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (refocus && opener?.isConnected) opener.focus();
  });
  // A click on the backdrop (outside the box) closes as well.
  dialog.addEventListener('click', (e) => { if (e.target === dialog) close(); });

  api.generationMemories(msg.generation_id).then((r) => {
    usedBox.replaceChildren(modeBadge(r.retrieval_mode),
      memoryList(r.memories, { chatId, jump, close, showRank: true, empty: 'No memories were put into this reply\u2019s prompt.' }));
  }).catch((e) => {
    usedBox.replaceChildren(h('p', { class: 'error', role: 'alert', text: `Could not load memories: ${e.message}` }));
  }).finally(() => usedBox.setAttribute('aria-busy', 'false'));

  let ticket = 0;
  const run = async () => {
    const q = search.value.trim();
    const mine = ++ticket;
    if (!q) {
      searchBox.replaceChildren();
      return;
    }
    searchBox.setAttribute('aria-busy', 'true');
    try {
      const r = await api.searchMemories(chatId, q, 20);
      if (mine !== ticket || !dialog.open) return;
      searchBox.replaceChildren(modeBadge(r.retrieval_mode),
        memoryList(r.memories, { chatId, jump, close, showWindow: true, empty: 'Nothing remembered matches.' }));
    } catch (e) {
      if (mine === ticket) searchBox.replaceChildren(h('p', { class: 'error', role: 'alert', text: `Search failed: ${e.message}` }));
    } finally {
      if (mine === ticket) searchBox.setAttribute('aria-busy', 'false');
    }
  };
  const later = debounce(run, 300);
  search.addEventListener('input', later);
  search.closest('form').addEventListener('submit', (e) => {
    e.preventDefault();
    later.cancel();
    run();
  });

  document.body.appendChild(dialog);
  dialog.showModal();
  closeBtn.focus();
  return dialog;
}
