// The chats of one character (used on the character page and in the chat sidebar), plus the
// "new chat" control with its persona picker.

import { confirmDialog, formatTime, h, toast, uniqueId } from '../dom.js';
import { icon } from '../icons.js';

export async function personaPicker(app, { label = 'Persona' } = {}) {
  const id = uniqueId('persona');
  const select = h('select', { id, name: 'persona' });
  let personas = [];
  try {
    personas = (await app.api.listPersonas()).personas;
  } catch {
    // offer "No persona" only
  }
  // A chat without a persona uses the default persona, so "No persona" only exists without one.
  if (!personas.some((p) => p.is_default)) select.appendChild(h('option', { value: '0', text: 'No persona' }));
  for (const p of personas) {
    select.appendChild(h('option', { value: String(p.id), text: p.is_default ? `${p.name} (default)` : p.name, selected: p.is_default }));
  }
  const wrap = h('div', { class: 'persona-picker' }, h('label', { for: id, text: label }), select);
  return { el: wrap, select, value: () => Number(select.value) || 0 };
}

export async function startChat(app, character, personaId) {
  const body = { character_id: character.id };
  if (personaId) body.persona_id = personaId;
  const chat = await app.api.createChat(body);
  app.navigate(`#/chats/${chat.id}`);
  return chat;
}

// A list of chats with paging and delete. `compact` is the sidebar flavour.
export function chatList(app, characterId, { currentId = null, compact = false, onEmpty = null } = {}) {
  let after = null;
  const ul = h('ul', { class: compact ? 'chat-list compact' : 'chat-list', 'aria-label': 'Chats' });
  const more = h('button', { type: 'button', class: 'btn btn-small btn-block', hidden: true, text: 'More chats' });
  const empty = h('p', { class: 'empty', hidden: true, text: 'No chats yet.' });
  const root = h('div', { class: 'chat-list-wrap' }, ul, empty, more);

  function item(chat) {
    const current = chat.id === currentId;
    const link = h('a', {
      class: 'chat-link', href: `#/chats/${chat.id}`, 'aria-current': current ? 'page' : null,
    }, h('span', { class: 'chat-title', text: chat.title || `Chat ${chat.id}` }),
    h('span', { class: 'chat-time', text: formatTime(chat.updated_at) }));
    const del = h('button', {
      type: 'button', class: 'btn btn-icon btn-ghost', 'aria-label': `Delete chat “${chat.title || chat.id}”`, title: 'Delete chat',
    }, icon('trash'));
    del.addEventListener('click', async () => {
      const ok = await confirmDialog({ title: 'Delete this chat?', message: `“${chat.title}” and all its messages will be deleted.` });
      if (!ok) return;
      try {
        await app.api.deleteChat(chat.id);
        li.remove();
        toast('Chat deleted.');
        if (current) app.navigate(`#/characters/${characterId}`);
        empty.hidden = ul.children.length > 0;
      } catch (e) {
        toast(`Could not delete the chat: ${e.message}`, 'error');
      }
    });
    const li = h('li', { class: current ? 'current' : null }, link, del);
    return li;
  }

  async function load(reset) {
    more.disabled = true;
    try {
      const res = await app.api.listChats({ character_id: characterId, after: reset ? undefined : after, limit: 30 });
      if (reset) ul.replaceChildren();
      // Newest activity first within what is loaded.
      const chats = [...res.chats].sort((a, b) => b.updated_at - a.updated_at);
      for (const c of chats) ul.appendChild(item(c));
      after = res.next_after;
      more.hidden = after === null || after === undefined;
      empty.hidden = ul.children.length > 0;
      if (!ul.children.length && onEmpty) onEmpty();
    } catch (e) {
      toast(`Could not load chats: ${e.message}`, 'error');
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => load(false));
  load(true);
  return { el: root, reload: () => load(true) };
}
