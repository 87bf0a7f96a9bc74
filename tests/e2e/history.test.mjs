// Long histories load in pages while scrolling up; the live connection survives a server restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertClean, openPage, plain, shot, until, useEnvironment } from './lib/browser.mjs';

const env = useEnvironment('history', {
  // A tiny replay buffer so that a client that misses a turn gets a resync.
  settings: { 'llm.sim_token_delay_ms': 1, 'llm.sim_first_token_ms': 1, 'llm.sim_reply_tokens': 12, 'generation.replay_events': 8 },
});

async function turn(chatId, content) {
  await env.server.api('POST', `/api/chats/${chatId}/messages`, { content });
  await until(async () => (await env.server.api('GET', `/api/chats/${chatId}`)).generation === null, { timeout: 10000, interval: 20, message: 'turn' });
}

// Routes the page's live stream (WebSocket, and SSE as the fallback) so a test can cut it and
// keep the page away until open() is called.
class StreamGate {
  blocked = false;
  current = null;
  async install(ctx) {
    await ctx.routeWebSocket(/\/ws\?/, (ws) => {
      if (this.blocked) {
        ws.close({ code: 1011, reason: 'blocked' });
        return;
      }
      this.current = ws;
      ws.connectToServer();
    });
    await ctx.route(/\/api\/chats\/\d+\/events/, (route) => (this.blocked ? route.abort() : route.continue()));
  }
  async cut(conn) {
    this.blocked = true;
    await this.current.close({ code: 1006, reason: 'test drop' });
    await until(async () => (await conn.textContent()) === 'reconnecting…', { message: 'reconnecting' });
  }
  open() {
    this.blocked = false;
  }
}

test('history loads older pages while scrolling up and keeps the reading position', async () => {
  const chat = await env.server.api('POST', '/api/chats', { character_id: 1 });
  const TURNS = 45;
  for (let i = 1; i <= TURNS; i++) await turn(chat.id, `Question number ${i}`);
  const total = 1 + TURNS * 2;
  const { context, page, problems } = await openPage(env, { hash: `#/chats/${chat.id}` });
  try {
    const msgs = page.locator('.message-list > .msg');
    await page.locator('.msg-user', { hasText: `Question number ${TURNS}` }).waitFor();
    assert.equal(await msgs.count(), 40, 'first page only');
    const scroller = page.locator('.messages');
    const atBottom = await scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight);
    assert.ok(atBottom < 5, 'opens at the newest message');

    // Scroll up to the top: the next page is prepended, the previously first message stays put.
    const firstId = await msgs.first().getAttribute('data-message-id');
    await scroller.evaluate((el) => { el.scrollTop = 0; });
    await until(async () => (await msgs.count()) === 80, { message: 'second page' });
    const anchor = page.locator(`.msg[data-message-id="${firstId}"]`);
    const box = await anchor.boundingBox();
    const view = await scroller.boundingBox();
    assert.ok(box.y >= view.y - 50 && box.y < view.y + view.height, `reading position kept (anchor at ${box.y}, view ${view.y}..${view.y + view.height})`);

    await scroller.evaluate((el) => { el.scrollTop = 0; });
    await until(async () => (await msgs.count()) === total, { message: 'last page' });
    await page.getByText('This is the start of the chat.').waitFor();
    const texts = await page.locator('.msg-user .msg-body').allInnerTexts();
    assert.deepEqual(texts, Array.from({ length: TURNS }, (_, i) => `Question number ${i + 1}`), 'every message once, in order');
    await shot(page, 'chat-history-top');
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('the live connection reconnects with backoff after a server restart and keeps working', async () => {
  const chat = await env.server.api('POST', '/api/chats', { character_id: 1 });
  const { context, page, problems } = await openPage(env, { hash: `#/chats/${chat.id}` });
  try {
    const conn = page.locator('.conn');
    await until(async () => (await conn.textContent()) === 'live', { message: 'live' });
    await env.server.stop({ keepData: true });
    await until(async () => (await conn.textContent()) === 'reconnecting…', { message: 'reconnecting state' });
    await shot(page, 'chat-reconnecting');
    await env.server.start();
    await until(async () => (await conn.textContent()) === 'live', { timeout: 20000, message: 'live again' });

    const input = page.getByLabel(/^Message to /);
    await input.fill('Still there after the restart?');
    await input.press('Enter');
    await page.locator('.msg-user', { hasText: 'Still there after the restart?' }).waitFor();
    await until(async () => (await page.locator('.message-list > .msg.last').getAttribute('data-status')) === 'completed', { timeout: 15000, message: 'reply after restart' });
    const stored = (await env.server.api('GET', `/api/chats/${chat.id}/messages`)).messages.at(-1);
    assert.equal(Number(await page.locator('.message-list > .msg.last').getAttribute('data-message-id')), stored.id);
    // Failed fetches of the stopped server may be logged by the browser; page errors may not.
    problems.errors = problems.errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|EventSource/i.test(e));
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('a reply that finishes while the history reloads is shown finished, not stuck streaming', async () => {
  const chat = await env.server.api('POST', '/api/chats', { character_id: 1 });
  const gate = new StreamGate();
  let hold = null; // { snapshot, release }: the next page of messages waits for both
  let held = false;
  const { context, page, problems } = await openPage(env, {
    hash: `#/chats/${chat.id}`,
    setup: async (ctx) => {
      await gate.install(ctx);
      await ctx.route(new RegExp(`/api/chats/${chat.id}/messages\\?`), async (route) => {
        const h = hold;
        if (!h || route.request().method() !== 'GET') return route.continue();
        hold = null;
        held = true;
        await h.snapshot;
        const response = await route.fetch(); // taken while the reply streams
        await h.release;
        await route.fulfill({ response });
      });
    },
  });
  try {
    const conn = page.locator('.conn');
    await until(async () => (await conn.textContent()) === 'live', { message: 'live' });
    await gate.cut(conn);
    await turn(chat.id, 'A turn while away (more events than the server keeps)');

    // The page comes back, resyncs and reloads its history: the chat is read before the next
    // reply starts, its messages while that reply streams, and they are answered only after the
    // page has seen the reply finish over the live stream.
    let snapshot, release;
    hold = { snapshot: new Promise((r) => { snapshot = r; }), release: new Promise((r) => { release = r; }) };
    gate.open();
    await until(async () => (await conn.textContent()) === 'live', { timeout: 20000, message: 'live again' });
    await until(async () => held, { message: 'history reload under way' });
    await env.server.api('POST', `/api/chats/${chat.id}/messages`, { content: 'Take your time [sim:slow]' });
    await page.waitForTimeout(500);
    snapshot();
    await until(async () => (await env.server.api('GET', `/api/chats/${chat.id}`)).generation === null, { timeout: 15000, interval: 50, message: 'slow reply finished' });
    await page.waitForTimeout(300); // its last events reach the page
    release();

    const { messages } = await env.server.api('GET', `/api/chats/${chat.id}/messages`);
    const lastEl = page.locator('.message-list > .msg.last');
    await until(async () => Number(await lastEl.getAttribute('data-message-id')) === messages.at(-1).id, { message: 'the slow reply is last' });
    await until(async () => (await lastEl.getAttribute('data-status')) === 'completed', { timeout: 5000, message: 'the slow reply is shown completed' });
    assert.equal(plain(await lastEl.locator('.msg-body').innerText()), plain(messages.at(-1).content));
    problems.errors = problems.errors.filter((e) => !/WebSocket|ERR_FAILED|EventSource/i.test(e));
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('a reply that finishes before the answer to its send request arrives is shown finished', async () => {
  const chat = await env.server.api('POST', '/api/chats', { character_id: 1 });
  let finished = null; // resolves once the server has finished the reply
  const { context, page, problems } = await openPage(env, {
    hash: `#/chats/${chat.id}`,
    setup: async (ctx) => {
      await ctx.route(new RegExp(`/api/chats/${chat.id}/messages$`), async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        const response = await route.fetch();
        await finished;
        await route.fulfill({ response });
      });
    },
  });
  try {
    const conn = page.locator('.conn');
    await until(async () => (await conn.textContent()) === 'live', { message: 'live' });
    finished = (async () => {
      await until(async () => (await env.server.api('GET', `/api/chats/${chat.id}/messages`)).messages.length === 3 &&
        (await env.server.api('GET', `/api/chats/${chat.id}`)).generation === null, { timeout: 15000, interval: 20, message: 'reply finished on the server' });
      // Its finish event reaches the page before the answer to the send request.
      await until(async () => (await page.locator('.message-list > .msg.last').getAttribute('data-status')) === 'completed', { message: 'finish event shown' });
    })();
    const input = page.getByLabel(/^Message to /);
    const answered = page.waitForResponse((r) => r.url().endsWith(`/api/chats/${chat.id}/messages`) && r.request().method() === 'POST');
    await input.fill('Quick, before the answer comes back');
    await input.press('Enter');
    await finished;
    assert.equal((await answered).status(), 202);
    await page.waitForTimeout(300); // the page handles the answer
    const { messages } = await env.server.api('GET', `/api/chats/${chat.id}/messages`);
    const lastEl = page.locator('.message-list > .msg.last');
    assert.equal(Number(await lastEl.getAttribute('data-message-id')), messages.at(-1).id);
    assert.equal(await lastEl.getAttribute('data-status'), 'completed', 'not streaming again after the late answer');
    assert.ok(await page.locator('.composer-stop').isHidden(), 'no stop button');
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('events missed beyond the replay buffer: resync reloads the history', async () => {
  const chat = await env.server.api('POST', '/api/chats', { character_id: 1 });
  const gate = new StreamGate();
  const { context, page, problems } = await openPage(env, {
    hash: `#/chats/${chat.id}`,
    setup: async (ctx) => {
      await gate.install(ctx);
    },
  });
  try {
    const conn = page.locator('.conn');
    await until(async () => (await conn.textContent()) === 'live', { message: 'live' });
    await gate.cut(conn);

    // A whole turn happens while the page is away: far more events than the server keeps.
    await turn(chat.id, 'Did anything happen while I was gone?');
    const { messages } = await env.server.api('GET', `/api/chats/${chat.id}/messages`);
    assert.equal(messages.length, 3);

    gate.open();
    await until(async () => (await conn.textContent()) === 'live', { timeout: 20000, message: 'live again' });
    await page.locator('.msg-user', { hasText: 'Did anything happen while I was gone?' }).waitFor();
    const lastEl = page.locator('.message-list > .msg.last');
    await until(async () => Number(await lastEl.getAttribute('data-message-id')) === messages[2].id, { message: 'reply shown after resync' });
    assert.equal(await lastEl.getAttribute('data-status'), 'completed');
    assert.equal(plain(await lastEl.locator('.msg-body').innerText()), plain(messages[2].content));
    problems.errors = problems.errors.filter((e) => !/WebSocket|ERR_FAILED|EventSource/i.test(e));
    assertClean(problems);
  } finally {
    await context.close();
  }
});
