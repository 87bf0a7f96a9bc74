// One character: its card, actions (new chat, edit, export, delete) and its chats.

import { confirmDialog, downloadBlob, h, toast } from '../dom.js';
import { renderMarkdown } from '../markdown.js';
import { tagList } from './gallery.js';
import { chatList, personaPicker, startChat } from './chatlist.js';

// Card text with {{char}} shown as the character's name ({{user}} stays: it depends on the chat).
function detail(title, text, name) {
  if (!text || !String(text).trim()) return null;
  return h('section', { class: 'detail' },
    h('h3', { text: title }),
    h('div', { class: 'md' }, renderMarkdown(String(text).replace(/\{\{char\}\}/gi, name))));
}

export async function mount(container, app, { id }) {
  const c = await app.api.getCharacter(id);
  document.title = `${c.name} · Troupe`;

  const picker = await personaPicker(app, { label: 'Chat as' });
  const newChat = h('button', { type: 'button', class: 'btn btn-primary', text: 'Start new chat' });
  newChat.addEventListener('click', async () => {
    newChat.disabled = true;
    try {
      await startChat(app, c, picker.value());
    } catch (e) {
      toast(`Could not start a chat: ${e.message}`, 'error');
      newChat.disabled = false;
    }
  });

  const exportBtn = (label, format, spec) => {
    const b = h('button', { type: 'button', class: 'btn btn-small', text: label, 'aria-label': `Export card as ${label}` });
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        const { blob, filename } = await app.api.exportCard(c.id, format, spec);
        downloadBlob(blob, filename);
      } catch (e) {
        toast(`Export failed: ${e.message}`, 'error');
      } finally {
        b.disabled = false;
      }
    });
    return b;
  };

  const del = h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost', text: 'Delete character' });
  del.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: `Delete ${c.name}?`,
      message: 'The character and all of its chats will be deleted. This cannot be undone.',
    });
    if (!ok) return;
    try {
      await app.api.deleteCharacter(c.id);
      toast(`${c.name} deleted.`);
      app.navigate('#/');
    } catch (e) {
      toast(`Could not delete: ${e.message}`, 'error');
    }
  });

  const meta = [
    c.creator ? `by ${c.creator}` : '',
    c.character_version ? `v${c.character_version}` : '',
    c.source_spec ? `card ${c.source_spec}` : '',
  ].filter(Boolean).join(' · ');

  const chats = chatList(app, c.id);
  const greetings = Array.isArray(c.alternate_greetings) ? c.alternate_greetings.filter((g) => g && g.trim()) : [];

  const page = h('section', { class: 'page character-page' },
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/', text: '← Characters' })),
    h('div', { class: 'char-hero' },
      app.avatars.element(c, { size: 'xl', shape: 'square' }),
      h('div', { class: 'char-hero-text' },
        h('h1', { text: c.name }),
        meta ? h('p', { class: 'muted', text: meta }) : null,
        tagList(c.tags, 12),
        h('div', { class: 'hero-actions' },
          h('div', { class: 'action-row', role: 'group', 'aria-label': 'Character actions' },
            h('a', { class: 'btn btn-small', href: `#/characters/${c.id}/edit`, text: 'Edit' }),
            del),
          h('div', { class: 'action-row', role: 'group', 'aria-label': 'Export card' },
            h('span', { class: 'muted small', text: 'Export' }),
            exportBtn('PNG', 'png', undefined),
            exportBtn('JSON v2', 'json', 'v2'),
            exportBtn('JSON v3', 'json', 'v3'))))),
    h('div', { class: 'char-layout' },
      h('section', { class: 'panel char-chats', 'aria-labelledby': 'chats-title' },
        h('h2', { id: 'chats-title', text: 'Chats' }),
        h('div', { class: 'new-chat' }, picker.el, newChat),
        chats.el),
      h('div', { class: 'char-side' },
        detail('Description', c.description, c.name),
        detail('Personality', c.personality, c.name),
        detail('Scenario', c.scenario, c.name),
        detail('First message', c.first_mes, c.name),
        greetings.length ? h('section', { class: 'detail' },
          h('h3', { text: `Alternate greetings (${greetings.length})` }),
          greetings.map((g) => h('div', { class: 'md alt-greeting' }, renderMarkdown(g.replace(/\{\{char\}\}/gi, c.name))))) : null,
        detail('Creator notes', c.creator_notes, c.name))));
  container.appendChild(page);
  app.focusHeading();
  return {};
}
