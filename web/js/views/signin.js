// Sign in with an access token (printed by `scripts/run`, kept in data/admin.token).

import { Api } from '../api.js';
import { field, h } from '../dom.js';

export function mount(container, app, { message = '' } = {}) {
  document.title = 'Sign in · Troupe';
  container.className = 'signin-page';

  const input = h('input', {
    type: 'password', name: 'token', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'trp_…', required: true, autocapitalize: 'off',
  });
  const error = h('p', { class: 'form-error', role: 'alert', id: 'signin-error' });
  error.hidden = !message;
  error.textContent = message;
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Sign in' });

  const form = h('form', { class: 'card signin-card', novalidate: true, 'aria-labelledby': 'signin-title' },
    h('div', { class: 'signin-brand' },
      h('img', { src: '/web/icon.svg', alt: '', width: 40, height: 40 }),
      h('h1', { id: 'signin-title', text: 'Sign in to Troupe' })),
    h('p', { class: 'muted', text: 'Paste your access token. The server prints it on its first start; it is also saved in data/admin.token.' }),
    field('Access token', input),
    error,
    submit);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    error.hidden = true;
    if (!token) {
      error.textContent = 'Enter a token.';
      error.hidden = false;
      input.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Checking…';
    try {
      await new Api(token).listPersonas();
      app.signIn(token);
    } catch (err) {
      error.textContent = err.status === 401
        ? 'That token was not accepted (unauthorized). Check it and try again.'
        : `Could not sign in: ${err.message}`;
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', error.id);
      input.focus();
      input.select();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });

  container.appendChild(form);
  input.focus();
  return {};
}
