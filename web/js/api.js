// REST client for the public Troupe API (docs/API.md). Every call sends the bearer token; errors
// become ApiError with the server's code and message.

const TOKEN_KEY = 'troupe.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `request failed (${status})`);
    this.status = status;
    this.code = code || 'error';
  }
}

export function loadToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function saveToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // private mode: the token lives for this page only
  }
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function errorFrom(res) {
  let code = '';
  let message = '';
  try {
    const body = await res.json();
    code = body?.error?.code || '';
    message = body?.error?.message || '';
  } catch {
    // not JSON
  }
  if (!message) message = `${res.status} ${res.statusText || 'error'}`;
  return new ApiError(res.status, code, message);
}

export class Api {
  constructor(token, { onUnauthorized } = {}) {
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  async raw(method, path, { json, body, headers = {}, signal } = {}) {
    const h = { Authorization: `Bearer ${this.token}`, ...headers };
    let payload = body;
    if (json !== undefined) {
      h['Content-Type'] = 'application/json';
      payload = JSON.stringify(json);
    }
    let res;
    try {
      res = await fetch(path, { method, headers: h, body: payload, signal, cache: 'no-store' });
    } catch (e) {
      if (e?.name === 'AbortError') throw e;
      throw new ApiError(0, 'network', 'Cannot reach the server. Check that it is running.');
    }
    if (!res.ok) {
      const err = await errorFrom(res);
      if (res.status === 401 && this.onUnauthorized) this.onUnauthorized(err);
      throw err;
    }
    return res;
  }

  async json(method, path, opts) {
    const res = await this.raw(method, path, opts);
    if (res.status === 204) return null;
    return res.json();
  }

  // -- characters
  listCharacters({ search, after, limit } = {}) {
    return this.json('GET', `/api/characters${query({ search, after, limit })}`);
  }
  getCharacter(id) { return this.json('GET', `/api/characters/${id}`); }
  createCharacter(fields) { return this.json('POST', '/api/characters', { json: fields }); }
  updateCharacter(id, fields) { return this.json('PUT', `/api/characters/${id}`, { json: fields }); }
  deleteCharacter(id) { return this.json('DELETE', `/api/characters/${id}`); }

  // Raw PNG or JSON card as the request body.
  importCard(file) {
    const type = file.type || (/\.png$/i.test(file.name || '') ? 'image/png' : 'application/json');
    return this.json('POST', '/api/characters/import', { body: file, headers: { 'Content-Type': type } });
  }

  async exportCard(id, format, spec) {
    const res = await this.raw('GET', `/api/characters/${id}/export${query({ format, spec })}`);
    const blob = await res.blob();
    const disp = res.headers.get('Content-Disposition') || '';
    const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disp);
    let filename = m ? decodeURIComponent(m[1]) : `character-${id}.${format}`;
    if (format === 'json' && !/\.json$/i.test(filename)) filename += '.json';
    return { blob, filename };
  }

  async avatarBlob(id, signal) {
    const res = await this.raw('GET', `/api/characters/${id}/avatar`, { signal });
    return res.blob();
  }

  // -- personas
  listPersonas() { return this.json('GET', '/api/personas'); }
  createPersona(fields) { return this.json('POST', '/api/personas', { json: fields }); }
  updatePersona(id, fields) { return this.json('PUT', `/api/personas/${id}`, { json: fields }); }
  deletePersona(id) { return this.json('DELETE', `/api/personas/${id}`); }

  // -- chats
  listChats({ character_id, after, limit } = {}) {
    return this.json('GET', `/api/chats${query({ character_id, after, limit })}`);
  }
  createChat(fields) { return this.json('POST', '/api/chats', { json: fields }); }
  getChat(id) { return this.json('GET', `/api/chats/${id}`); }
  deleteChat(id) { return this.json('DELETE', `/api/chats/${id}`); }
  listMessages(chatId, { before, limit } = {}) {
    return this.json('GET', `/api/chats/${chatId}/messages${query({ before, limit })}`);
  }
  sendMessage(chatId, content, idempotencyKey) {
    const headers = idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {};
    return this.json('POST', `/api/chats/${chatId}/messages`, { json: { content }, headers });
  }
  generate(chatId, kind, messageId) {
    const body = { kind };
    if (messageId) body.message_id = messageId;
    return this.json('POST', `/api/chats/${chatId}/generations`, { json: body });
  }
  getGeneration(id) { return this.json('GET', `/api/generations/${id}`); }
  stopGeneration(id) { return this.json('POST', `/api/generations/${id}/stop`); }
  generationMemories(id) { return this.json('GET', `/api/generations/${id}/memories`); }
  searchMemories(chatId, q, limit) {
    return this.json('GET', `/api/chats/${chatId}/memories${query({ query: q, limit })}`);
  }

  // -- messages
  editMessage(id, content) { return this.json('PUT', `/api/messages/${id}`, { json: { content } }); }
  deleteMessage(id) { return this.json('DELETE', `/api/messages/${id}`); }
  selectMessage(id) { return this.json('POST', `/api/messages/${id}/select`); }
  branchFrom(id) { return this.json('POST', `/api/messages/${id}/branch`); }
}
