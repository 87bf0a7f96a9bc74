// Create / edit a character.

import { field, h, toast } from '../dom.js';

const TEXT_FIELDS = [
  { key: 'description', label: 'Description', rows: 5, hint: 'Who the character is. {{char}} and {{user}} are replaced in chats.' },
  { key: 'personality', label: 'Personality', rows: 2 },
  { key: 'scenario', label: 'Scenario', rows: 3 },
  { key: 'first_mes', label: 'First message', rows: 4, hint: 'The greeting every new chat starts with.' },
  { key: 'mes_example', label: 'Example messages', rows: 5, hint: 'Dialogue examples, blocks separated by <START>.' },
  { key: 'system_prompt', label: 'System prompt', rows: 3, hint: 'Leave empty to use the server default.' },
  { key: 'post_history_instructions', label: 'Post-history instructions', rows: 2 },
];

export async function mount(container, app, { id }) {
  const editing = id !== null;
  const c = editing ? await app.api.getCharacter(id) : {};
  document.title = `${editing ? `Edit ${c.name}` : 'New character'} · Troupe`;

  const controls = {};
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: 200, value: c.name || '', autocomplete: 'off' });
  controls.name = name;
  const textFields = TEXT_FIELDS.map((f) => {
    const ta = h('textarea', { name: f.key, rows: f.rows, value: c[f.key] || '' });
    controls[f.key] = ta;
    return field(f.label, ta, f.hint || null);
  });
  const tags = h('input', { type: 'text', name: 'tags', value: (c.tags || []).join(', '), autocomplete: 'off' });

  // Alternate greetings: a list of textareas.
  const greetList = h('ol', { class: 'greetings' });
  const addGreeting = (text = '') => {
    const n = greetList.children.length + 1;
    const ta = h('textarea', { rows: 3, name: 'alternate_greeting', value: text, 'aria-label': `Alternate greeting ${n}` });
    const remove = h('button', { type: 'button', class: 'btn btn-small btn-ghost', text: 'Remove', 'aria-label': `Remove alternate greeting ${n}` });
    const li = h('li', null, ta, remove);
    remove.addEventListener('click', () => {
      li.remove();
      renumber();
    });
    greetList.appendChild(li);
    return ta;
  };
  const renumber = () => {
    [...greetList.children].forEach((li, i) => {
      li.querySelector('textarea').setAttribute('aria-label', `Alternate greeting ${i + 1}`);
      li.querySelector('button').setAttribute('aria-label', `Remove alternate greeting ${i + 1}`);
    });
  };
  for (const g of c.alternate_greetings || []) addGreeting(g);
  const addBtn = h('button', { type: 'button', class: 'btn btn-small', text: 'Add alternate greeting' });
  addBtn.addEventListener('click', () => addGreeting().focus());

  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', text: editing ? 'Save changes' : 'Create character' });
  const cancel = h('a', { class: 'btn', href: editing ? `#/characters/${id}` : '#/', text: 'Cancel' });

  const form = h('form', { class: 'page narrow char-form', novalidate: true },
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: editing ? `#/characters/${id}` : '#/', text: editing ? `← ${c.name}` : '← Characters' })),
    h('h1', { text: editing ? `Edit ${c.name}` : 'New character' }),
    field('Name', name),
    textFields.slice(0, 4),
    h('fieldset', { class: 'fieldset' },
      h('legend', { text: 'Alternate greetings' }),
      h('p', { class: 'hint', text: 'Extra greetings; a new chat offers them as swipes of the first message.' }),
      greetList, addBtn),
    textFields.slice(4),
    field('Tags', tags, 'Comma separated, e.g. fantasy, cozy'),
    error,
    h('div', { class: 'form-actions' }, cancel, save));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.hidden = true;
    const body = { name: name.value.trim() };
    if (!body.name) {
      error.textContent = 'A name is required.';
      error.hidden = false;
      name.setAttribute('aria-invalid', 'true');
      name.focus();
      return;
    }
    name.removeAttribute('aria-invalid');
    for (const f of TEXT_FIELDS) body[f.key] = controls[f.key].value;
    body.alternate_greetings = [...greetList.querySelectorAll('textarea')].map((t) => t.value).filter((v) => v.trim());
    body.tags = tags.value.split(',').map((t) => t.trim()).filter(Boolean);
    save.disabled = true;
    try {
      const saved = editing ? await app.api.updateCharacter(id, body) : await app.api.createCharacter(body);
      toast(editing ? 'Saved.' : `${saved.name} created.`, 'success');
      app.navigate(`#/characters/${saved.id}`);
    } catch (err) {
      error.textContent = `Could not save: ${err.message}`;
      error.hidden = false;
      save.disabled = false;
    }
  });

  container.appendChild(form);
  name.focus();
  return {};
}
