// App shell: sign-in state, hash router, top bar. Each view is a module exporting
// mount(container, app, params) that returns an optional { destroy() }.

import { Api, loadToken, saveToken } from './api.js';
import { AvatarCache } from './avatars.js';
import { clear, h, toast } from './dom.js';
import { clearAllSiblingBooks } from './swipes.js';
import * as signinView from './views/signin.js';
import * as galleryView from './views/gallery.js';
import * as characterView from './views/character.js';
import * as characterFormView from './views/characterForm.js';
import * as personasView from './views/personas.js';
import * as chatView from './views/chat.js';
import * as dashboardView from './views/dashboard.js';

const ROUTES = [
  { re: /^\/?$/, view: galleryView, nav: 'characters' },
  { re: /^\/characters\/new$/, view: characterFormView, nav: 'characters', params: () => ({ id: null }) },
  { re: /^\/characters\/(\d+)\/edit$/, view: characterFormView, nav: 'characters', params: (m) => ({ id: Number(m[1]) }) },
  { re: /^\/characters\/(\d+)$/, view: characterView, nav: 'characters', params: (m) => ({ id: Number(m[1]) }) },
  { re: /^\/chats\/(\d+)$/, view: chatView, nav: 'characters', params: (m) => ({ id: Number(m[1]) }) },
  { re: /^\/personas$/, view: personasView, nav: 'personas' },
  { re: /^\/dashboard$/, view: dashboardView, nav: 'dashboard' },
];

const main = document.getElementById('main');
const topbar = document.getElementById('topbar');

const app = {
  api: null,
  avatars: null,
  token: '',
  current: null,
  navigating: 0,

  navigate(hash) {
    if (location.hash === hash) this.render();
    else location.hash = hash;
  },

  signIn(token) {
    this.token = token;
    saveToken(token);
    this.api = new Api(token, { onUnauthorized: () => this.signOut('The server did not accept your token any more. Sign in again.') });
    this.avatars?.dispose();
    this.avatars = new AvatarCache(this.api);
    this.render();
  },

  signOut(message = '') {
    saveToken('');
    clearAllSiblingBooks();
    this.token = '';
    this.api = null;
    this.avatars?.dispose();
    this.avatars = null;
    this.signoutMessage = message;
    if (location.hash && location.hash !== '#/') history.replaceState(null, '', '#/');
    this.render();
  },

  async render() {
    const seq = ++this.navigating;
    if (this.current?.destroy) {
      try {
        this.current.destroy();
      } catch (e) {
        console.error(e);
      }
    }
    this.current = null;
    clear(main);
    main.className = '';
    document.body.classList.remove('is-chat');

    if (!this.token) {
      topbar.hidden = true;
      const msg = this.signoutMessage;
      this.signoutMessage = '';
      this.current = signinView.mount(main, this, { message: msg });
      return;
    }
    topbar.hidden = false;

    const path = (location.hash || '#/').slice(1).split('?')[0];
    let route = null;
    let m = null;
    for (const r of ROUTES) {
      m = r.re.exec(path);
      if (m) {
        route = r;
        break;
      }
    }
    for (const a of topbar.querySelectorAll('[data-nav]')) {
      if (route && a.dataset.nav === route.nav) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    if (!route) {
      document.title = 'Not found · Troupe';
      main.appendChild(h('section', { class: 'page narrow' },
        h('h1', { text: 'Page not found' }),
        h('p', null, h('a', { href: '#/', text: 'Back to the characters' }))));
      return;
    }
    const params = route.params ? route.params(m) : {};
    try {
      const view = await route.view.mount(main, this, params);
      if (seq !== this.navigating) {
        view?.destroy?.();
        return;
      }
      this.current = view;
    } catch (e) {
      if (seq !== this.navigating) return;
      console.error(e);
      clear(main);
      main.appendChild(h('section', { class: 'page narrow' },
        h('h1', { text: e.status === 404 ? 'Not found' : 'Something went wrong' }),
        h('p', { class: 'error-text', text: e.message || String(e) }),
        h('p', null, h('a', { href: '#/', text: 'Back to the characters' }))));
    }
  },

  // Moves keyboard focus to the page heading after a navigation (screen readers announce it).
  focusHeading() {
    const h1 = main.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus({ preventScroll: true });
    }
  },
};

document.getElementById('signout').addEventListener('click', () => {
  app.signOut();
  toast('Signed out.');
});

window.addEventListener('hashchange', () => app.render());

const saved = loadToken();
if (saved) app.signIn(saved);
else app.render();
