// Personas: who the user plays in a chat. List, create, edit, set default, delete.

import { confirmDialog, field, h, toast } from '../dom.js';

export async function mount(container, app) {
  document.title = 'Personas · Troupe';
  let editingId = null;

  const list = h('ul', { class: 'persona-list', 'aria-label': 'Personas' });
  const empty = h('p', { class: 'empty', hidden: true, text: 'No personas yet. Without one, characters call you by your user name.' });

  const formTitle = h('h2', { text: 'New persona' });
  const name = h('input', { type: 'text', name: 'name', required: true, autocomplete: 'off', maxlength: 200 });
  const desc = h('textarea', { name: 'description', rows: 4 });
  const isDefault = h('input', { type: 'checkbox', name: 'is_default', id: 'persona-default' });
  const error = h('p', { class: 'form-error', role: 'alert', hidden: true });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Create persona' });
  const cancel = h('button', { type: 'button', class: 'btn', hidden: true, text: 'Cancel editing' });
  const form = h('form', { class: 'panel persona-form', novalidate: true, 'aria-labelledby': 'persona-form-title' },
    formTitle,
    field('Name', name),
    field('Description', desc, 'How the character sees you; used as {{user}}’s description.'),
    h('div', { class: 'check' }, isDefault, h('label', { for: 'persona-default', text: 'Use for new chats by default' })),
    error,
    h('div', { class: 'form-actions' }, cancel, save));
  formTitle.id = 'persona-form-title';

  function resetForm() {
    editingId = null;
    formTitle.textContent = 'New persona';
    save.textContent = 'Create persona';
    cancel.hidden = true;
    name.value = '';
    desc.value = '';
    isDefault.checked = false;
    error.hidden = true;
  }

  function edit(p) {
    editingId = p.id;
    formTitle.textContent = `Edit ${p.name}`;
    save.textContent = 'Save persona';
    cancel.hidden = false;
    name.value = p.name;
    desc.value = p.description || '';
    isDefault.checked = Boolean(p.is_default);
    error.hidden = true;
    name.focus();
  }

  function row(p) {
    const editBtn = h('button', { type: 'button', class: 'btn btn-small', text: 'Edit', 'aria-label': `Edit ${p.name}` });
    editBtn.addEventListener('click', () => edit(p));
    const defBtn = h('button', {
      type: 'button', class: 'btn btn-small', text: 'Set default', 'aria-label': `Make ${p.name} the default persona`, hidden: p.is_default,
    });
    defBtn.addEventListener('click', async () => {
      try {
        await app.api.updatePersona(p.id, { is_default: true });
        toast(`${p.name} is now the default persona.`, 'success');
        await load();
      } catch (e) {
        toast(`Could not update: ${e.message}`, 'error');
      }
    });
    const delBtn = h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost', text: 'Delete', 'aria-label': `Delete ${p.name}` });
    delBtn.addEventListener('click', async () => {
      if (!(await confirmDialog({ title: `Delete persona ${p.name}?`, message: 'Existing chats keep their messages.' }))) return;
      try {
        await app.api.deletePersona(p.id);
        if (editingId === p.id) resetForm();
        toast('Persona deleted.');
        await load();
      } catch (e) {
        toast(`Could not delete: ${e.message}`, 'error');
      }
    });
    return h('li', { class: 'persona', 'data-persona-id': p.id },
      h('div', { class: 'persona-head' },
        h('span', { class: 'persona-name', text: p.name }),
        p.is_default ? h('span', { class: 'badge', text: 'default' }) : null),
      p.description ? h('p', { class: 'persona-desc', text: p.description }) : null,
      h('div', { class: 'action-row' }, editBtn, defBtn, delBtn));
  }

  async function load() {
    const { personas } = await app.api.listPersonas();
    list.replaceChildren(...personas.map(row));
    empty.hidden = personas.length > 0;
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), description: desc.value, is_default: isDefault.checked };
    if (!body.name) {
      error.textContent = 'A name is required.';
      error.hidden = false;
      name.focus();
      return;
    }
    save.disabled = true;
    try {
      if (editingId) await app.api.updatePersona(editingId, body);
      else await app.api.createPersona(body);
      toast(editingId ? 'Persona saved.' : `Persona ${body.name} created.`, 'success');
      resetForm();
      await load();
    } catch (err) {
      error.textContent = `Could not save: ${err.message}`;
      error.hidden = false;
    } finally {
      save.disabled = false;
    }
  });
  cancel.addEventListener('click', resetForm);

  container.appendChild(h('section', { class: 'page personas-page' },
    h('div', { class: 'page-head' }, h('h1', { text: 'Personas' })),
    h('div', { class: 'persona-layout' },
      h('div', null, list, empty),
      form)));
  await load();
  app.focusHeading();
  return {};
}
