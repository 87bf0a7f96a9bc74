// Character avatars need the bearer header, so they are fetched as blobs and shown through object
// URLs. One cache per signed-in session, keyed by id and updated_at; a few requests at a time.

import { h } from './dom.js';

const MAX_PARALLEL = 4;

export class AvatarCache {
  constructor(api) {
    this.api = api;
    this.urls = new Map(); // key -> Promise<string>
    this.queue = [];
    this.active = 0;
  }

  #pump() {
    while (this.active < MAX_PARALLEL && this.queue.length) {
      const job = this.queue.shift();
      this.active += 1;
      job().finally(() => {
        this.active -= 1;
        this.#pump();
      });
    }
  }

  url(character) {
    const key = `${character.id}:${character.updated_at ?? 0}`;
    let p = this.urls.get(key);
    if (!p) {
      p = new Promise((resolve, reject) => {
        this.queue.push(() => this.api.avatarBlob(character.id)
          .then((blob) => resolve(URL.createObjectURL(blob)))
          .catch((e) => {
            this.urls.delete(key);
            reject(e);
          }));
        this.#pump();
      });
      this.urls.set(key, p);
    }
    return p;
  }

  // An <img> wrapped in a circle/square holder that shows initials until the image arrives.
  element(character, { size = 'md', shape = 'round' } = {}) {
    const initials = (character.name || '').split(/\s+/)
      .map((w) => (w.match(/[\p{L}\p{N}]/u) || [''])[0]).filter(Boolean).slice(0, 2).join('').toUpperCase() || '?';
    const generated = character.has_avatar === false; // the server's plain placeholder: keep initials on it
    const holder = h('span', { class: `avatar avatar-${size} avatar-${shape}${generated ? ' avatar-generated' : ''}`, 'aria-hidden': 'true' },
      h('span', { class: 'avatar-initials', text: initials }));
    this.url(character).then((src) => {
      const img = h('img', { src, alt: '', decoding: 'async' });
      img.addEventListener('load', () => holder.classList.add('loaded'));
      holder.appendChild(img);
    }).catch(() => {
      // initials stay
    });
    return holder;
  }

  dispose() {
    for (const p of this.urls.values()) p.then((u) => URL.revokeObjectURL(u)).catch(() => {});
    this.urls.clear();
    this.queue.length = 0;
  }
}
