// Character gallery: server-side search, paging with next_after, import by file picker or drag
// and drop.

import { debounce, field, h, toast } from '../dom.js';

const PAGE = 24;

export function snippet(character, max = 140) {
  const text = (character.description || character.personality || character.scenario || '')
    .replace(/\{\{char\}\}/gi, character.name || '')
    .replace(/\{\{user\}\}/gi, 'you')
    .replace(/\*+/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > max ? `${text.slice(0, max - 1).trimEnd()}…` : text;
}

export function tagList(tags, max = 6) {
  if (!Array.isArray(tags) || !tags.length) return null;
  const shown = tags.slice(0, max);
  return h('ul', { class: 'tags', 'aria-label': 'Tags' },
    shown.map((t) => h('li', { class: 'tag', text: String(t) })),
    tags.length > max ? h('li', { class: 'tag tag-more', text: `+${tags.length - max}` }) : null);
}

export function mount(container, app) {
  document.title = 'Characters · Troupe';
  let after = null;
  let loadSeq = 0;
  let search = '';

  const list = h('ul', { class: 'gallery', 'aria-label': 'Characters', 'aria-busy': 'true' });
  const empty = h('p', { class: 'empty', hidden: true });
  const more = h('button', { type: 'button', class: 'btn btn-block load-more', hidden: true, text: 'Load more characters' });
  const importMsg = h('div', { class: 'import-msg', role: 'alert', hidden: true });
  const searchInput = h('input', { type: 'search', name: 'search', autocomplete: 'off', placeholder: 'Name contains…' });
  const fileInput = h('input', {
    type: 'file', class: 'visually-hidden', accept: '.png,.json,image/png,application/json', multiple: true,
    'data-testid': 'import-file',
  });
  const importLabel = h('label', { class: 'btn file-btn' }, h('span', { text: 'Import card' }), fileInput);
  const overlay = h('div', { class: 'drop-overlay', 'aria-hidden': 'true' },
    h('div', { class: 'drop-overlay-inner' },
      h('strong', { text: 'Drop to import' }),
      h('span', { text: 'PNG or JSON character cards (V1, V2, V3)' })));

  const section = h('section', { class: 'page gallery-page' },
    h('div', { class: 'page-head' },
      h('h1', { text: 'Characters' }),
      h('div', { class: 'page-actions' },
        h('a', { class: 'btn btn-primary', href: '#/characters/new', text: 'New character' }),
        importLabel)),
    h('div', { class: 'toolbar' }, field('Search characters', searchInput)),
    h('p', { class: 'hint drop-hint', text: 'Tip: drop a card file anywhere on this page to import it.' }),
    importMsg,
    list, empty, more, overlay);
  container.appendChild(section);

  function card(c) {
    const a = h('a', { class: 'char-card', href: `#/characters/${c.id}`, 'data-character-id': c.id },
      app.avatars.element(c, { size: 'lg', shape: 'square' }),
      h('span', { class: 'char-card-body' },
        h('span', { class: 'char-name', text: c.name || '(no name)' }),
        h('span', { class: 'char-snippet', text: snippet(c) })));
    return h('li', null, a, tagList(c.tags, 4));
  }

  async function load(reset) {
    const seq = ++loadSeq;
    list.setAttribute('aria-busy', 'true');
    more.disabled = true;
    try {
      const res = await app.api.listCharacters({ search, after: reset ? undefined : after, limit: PAGE });
      if (seq !== loadSeq) return;
      if (reset) list.replaceChildren();
      for (const c of res.characters) list.appendChild(card(c));
      after = res.next_after;
      more.hidden = after === null || after === undefined;
      const none = list.children.length === 0;
      empty.hidden = !none;
      empty.textContent = search
        ? `No character name contains “${search}”.`
        : 'No characters yet. Create one or import a card.';
    } catch (e) {
      if (seq === loadSeq) toast(`Could not load characters: ${e.message}`, 'error');
    } finally {
      if (seq === loadSeq) {
        list.setAttribute('aria-busy', 'false');
        more.disabled = false;
      }
    }
  }

  const onSearch = debounce(() => {
    search = searchInput.value.trim();
    load(true);
  }, 250);
  searchInput.addEventListener('input', onSearch);
  more.addEventListener('click', () => load(false));

  async function importFiles(files) {
    importMsg.hidden = true;
    let imported = null;
    for (const file of files) {
      try {
        imported = await app.api.importCard(file);
        toast(`Imported ${imported.name}.`, 'success');
      } catch (e) {
        const dismiss = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss import error', text: '×' });
        dismiss.addEventListener('click', () => {
          importMsg.hidden = true;
          importLabel.querySelector('input').focus();
        });
        importMsg.replaceChildren(
          h('p', null,
            h('strong', { text: `Could not import ${file.name || 'the card'}: ` }),
            h('span', { class: 'import-reason', text: e.message })),
          dismiss);
        importMsg.hidden = false;
      }
    }
    if (imported) {
      searchInput.value = '';
      search = '';
      await load(true);
    }
  }

  fileInput.addEventListener('change', () => {
    const files = [...fileInput.files];
    fileInput.value = '';
    if (files.length) importFiles(files);
  });

  // Drag and drop anywhere on the page while the gallery is shown.
  let depth = 0;
  const hasFiles = (e) => [...(e.dataTransfer?.types || [])].includes('Files');
  const onEnter = (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth += 1;
    section.classList.add('dragging');
  };
  const onOver = (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  };
  const onLeave = (e) => {
    if (!hasFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (!depth) section.classList.remove('dragging');
  };
  const onDrop = (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    section.classList.remove('dragging');
    const files = [...e.dataTransfer.files];
    if (files.length) importFiles(files);
  };
  window.addEventListener('dragenter', onEnter);
  window.addEventListener('dragover', onOver);
  window.addEventListener('dragleave', onLeave);
  window.addEventListener('drop', onDrop);

  load(true);
  app.focusHeading();

  return {
    destroy() {
      onSearch.cancel();
      loadSeq += 1;
      window.removeEventListener('dragenter', onEnter);
      window.removeEventListener('dragover', onOver);
      window.removeEventListener('dragleave', onLeave);
      window.removeEventListener('drop', onDrop);
    },
  };
}
