// Chat: streaming, swipes, stop, reload during a reply, edit / continue / delete / branch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertClean, openPage, plain, shot, until, useEnvironment } from './lib/browser.mjs';

const env = useEnvironment('chat');

async function newCharacter(extra = {}) {
  return env.server.api('POST', '/api/characters', {
    name: 'Vela',
    description: '{{char}} is an airship captain.',
    scenario: 'The deck of the airship Meridian above the clouds.',
    first_mes: '*Vela looks up from the charts.* "You are late, {{user}}."',
    ...extra,
  });
}

async function idle(chatId) {
  await until(async () => (await env.server.api('GET', `/api/chats/${chatId}`)).generation === null, { timeout: 20000, message: 'generation to finish' });
}

async function apiChatWithReply(text = 'Where are we flying today?') {
  const c = await newCharacter();
  const chat = await env.server.api('POST', '/api/chats', { character_id: c.id });
  await env.server.api('POST', `/api/chats/${chat.id}/messages`, { content: text });
  await idle(chat.id);
  return chat;
}

async function lastMessage(chatId) {
  const { messages } = await env.server.api('GET', `/api/chats/${chatId}/messages?limit=5`);
  return messages.at(-1);
}

const last = (page) => page.locator('.message-list > .msg.last');
const bubbleText = (page) => last(page).locator('.msg-body').innerText();
const isStreaming = async (page) => (await last(page).getAttribute('class')).includes('streaming');

async function waitFinished(page, timeout = 20000) {
  await until(async () => !(await isStreaming(page)) && (await page.locator('.composer-send').isVisible()), { timeout, message: 'reply to finish in the page' });
}

async function send(page, text) {
  const input = page.getByLabel(/^Message to /);
  await input.fill(text);
  await input.press('Enter');
}

test('send a message and watch the reply stream in token by token', async () => {
  const c = await newCharacter();
  const { context, page, problems } = await openPage(env, { hash: `#/characters/${c.id}` });
  try {
    await page.getByRole('button', { name: 'Start new chat' }).click();
    await page.locator('.chat-pane').waitFor();
    const chatId = Number(/#\/chats\/(\d+)/.exec(page.url())[1]);
    await page.locator('.msg-assistant', { hasText: 'You are late' }).waitFor();
    await until(async () => (await page.locator('.conn').textContent()) === 'live', { message: 'live connection' });

    await send(page, 'Hello captain, where are we flying?');
    await page.locator('.msg-user', { hasText: 'Hello captain' }).waitFor();
    assert.equal(await page.getByLabel(/^Message to /).inputValue(), '', 'composer cleared');

    // Sample the streaming bubble several times.
    await until(async () => (await isStreaming(page)) && (await bubbleText(page)).length > 0, { message: 'first tokens' });
    const samples = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 15000 && (await isStreaming(page))) {
      samples.push(await bubbleText(page));
      await page.waitForTimeout(120);
    }
    await waitFinished(page);
    const growing = samples.filter((s, i) => i === 0 || s.length > samples[i - 1].length);
    assert.ok(growing.length >= 3, `the text grew while streaming (${samples.length} samples, ${growing.length} growing)`);

    const final = await bubbleText(page);
    const stored = await lastMessage(chatId);
    assert.equal(stored.status, 'completed');
    assert.equal(plain(final), plain(stored.content), 'bubble shows the final stored text');
    for (const s of samples) assert.ok(plain(final).startsWith(plain(s)), `sample is a prefix of the final text: ${s}`);

    const sim = page.getByTestId('sim-label');
    assert.equal(await sim.isVisible(), true);
    assert.equal((await sim.innerText()).trim(), 'simulated replies (sim backend, not a language model)');
    // Markdown: *actions* become italics, no stray asterisks for closed pairs.
    assert.ok(await last(page).locator('em.action').count() > 0 || !stored.content.includes('*'), 'actions in italics');
    await shot(page, 'chat');
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('swipes: ArrowRight past the last reply regenerates, ArrowLeft goes back to the first', async () => {
  const chat = await apiChatWithReply();
  const first = await lastMessage(chat.id);
  const { context, page, problems } = await openPage(env, { hash: `#/chats/${chat.id}` });
  try {
    await last(page).locator('.swipe-count', { hasText: '1 / 1' }).waitFor();
    assert.equal(Number(await last(page).getAttribute('data-message-id')), first.id);
    await until(async () => (await page.locator('.conn').textContent()) === 'live', { message: 'live connection' });

    const input = page.getByLabel(/^Message to /);
    await input.focus();
    await input.press('ArrowRight'); // past the last sibling: regenerate
    await until(async () => Number(await last(page).getAttribute('data-message-id')) !== first.id, { message: 'a new reply bubble' });
    await waitFinished(page);
    const second = await lastMessage(chat.id);
    assert.notEqual(second.id, first.id);
    assert.equal(second.parent_id, first.parent_id, 'a sibling of the first reply');
    assert.equal(Number(await last(page).getAttribute('data-message-id')), second.id);
    await last(page).locator('.swipe-count', { hasText: '2 / 2' }).waitFor();
    await shot(page, 'chat-swipe-2of2');

    await input.press('ArrowLeft');
    await until(async () => Number(await last(page).getAttribute('data-message-id')) === first.id, { message: 'back on the first reply' });
    await last(page).locator('.swipe-count', { hasText: '1 / 2' }).waitFor();
    assert.equal(plain(await bubbleText(page)), plain(first.content));
    assert.equal((await env.server.api('GET', `/api/chats/${chat.id}`)).leaf_id, first.id, 'selection stored on the server');

    // The button goes forward to the known second reply without generating a third.
    await last(page).getByRole('button', { name: 'Next reply' }).click();
    await until(async () => Number(await last(page).getAttribute('data-message-id')) === second.id, { message: 'second reply again' });
    await last(page).locator('.swipe-count', { hasText: '2 / 2' }).waitFor();
    assert.equal((await lastMessage(chat.id)).swipe_count, 2);

    // After a reload the page still knows both siblings.
    await page.reload();
    await last(page).locator('.swipe-count', { hasText: '2 / 2' }).waitFor();
    await last(page).getByRole('button', { name: 'Previous reply' }).click();
    await until(async () => Number(await last(page).getAttribute('data-message-id')) === first.id, { message: 'first reply after reload' });
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('stop a slow generation: the partial reply stays with the stopped status', async () => {
  const c = await newCharacter();
  const chat = await env.server.api('POST', '/api/chats', { character_id: c.id });
  const { context, page, problems } = await openPage(env, { hash: `#/chats/${chat.id}` });
  try {
    await until(async () => (await page.locator('.conn').textContent()) === 'live', { message: 'live connection' });
    await send(page, '[sim:slow] Tell me the whole history of the Meridian.');
    await until(async () => (await isStreaming(page)) && (await bubbleText(page)).length > 10, { message: 'some streamed text' });
    const stop = page.getByRole('button', { name: 'Stop the reply' });
    assert.equal(await stop.isVisible(), true);
    await stop.click();
    await last(page).locator('.msg-status', { hasText: 'stopped' }).waitFor({ timeout: 10000 });
    await waitFinished(page);
    const stored = await lastMessage(chat.id);
    assert.equal(stored.status, 'stopped');
    assert.ok(stored.content.length > 0, 'partial text kept');
    assert.equal(plain(await bubbleText(page)), plain(stored.content));
    assert.equal(await page.getByRole('button', { name: 'Send message' }).isVisible(), true);
    await shot(page, 'chat-stopped');
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('reload during a reply: the page shows the partial text and keeps streaming to the full text', async () => {
  const c = await newCharacter();
  const chat = await env.server.api('POST', '/api/chats', { character_id: c.id });
  const { context, page, problems } = await openPage(env, { hash: `#/chats/${chat.id}` });
  try {
    await until(async () => (await page.locator('.conn').textContent()) === 'live', { message: 'live connection' });
    await send(page, 'Describe the storm ahead of us in detail.');
    await until(async () => (await isStreaming(page)) && (await bubbleText(page)).length > 15, { message: 'some streamed text' });
    const before = await bubbleText(page);
    await page.reload();

    // Still streaming after the reload, starting from at least what was shown before.
    await until(async () => (await page.locator('.message-list > .msg.last.streaming').count()) === 1, { message: 'streaming bubble after reload' });
    const samples = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 15000 && (await isStreaming(page))) {
      samples.push(await bubbleText(page));
      await page.waitForTimeout(80);
    }
    await waitFinished(page);
    const stored = await lastMessage(chat.id);
    assert.equal(stored.status, 'completed');
    const final = await bubbleText(page);
    assert.equal(plain(final), plain(stored.content), 'full final text, nothing duplicated or lost');
    assert.ok(plain(final).startsWith(plain(before)), 'text shown before the reload is the start of the reply');
    assert.ok(samples.length >= 2, `sampled the resumed stream (${samples.length})`);
    for (const s of samples) assert.ok(plain(final).startsWith(plain(s)), `resumed sample is a prefix of the final text: ${s}`);
    assert.equal(await page.locator('.message-list > .msg-assistant').count(), 2, 'greeting + one reply, no duplicate bubble');
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('edit, continue, delete and branch', async () => {
  const chat = await apiChatWithReply('Tell me about the engines.');
  const { context, page, problems } = await openPage(env, { hash: `#/chats/${chat.id}` });
  try {
    const user = page.locator('.msg-user').first();
    await user.waitFor();
    await until(async () => (await page.locator('.conn').textContent()) === 'live', { message: 'live connection' });

    // Edit the user message.
    await user.hover();
    await user.getByRole('button', { name: 'Edit message' }).click();
    const box = user.getByLabel('Edit message text');
    await box.fill('Tell me about the **new** engines.');
    await shot(page, 'chat-edit');
    await user.getByRole('button', { name: 'Save' }).click();
    await user.locator('.msg-body strong', { hasText: 'new' }).waitFor();
    const { messages } = await env.server.api('GET', `/api/chats/${chat.id}/messages`);
    assert.equal(messages.find((m) => m.role === 'user').content, 'Tell me about the **new** engines.');

    // Continue the last reply: it grows from its current text.
    const beforeContinue = await lastMessage(chat.id);
    await last(page).getByRole('button', { name: 'Continue reply' }).click();
    await until(async () => isStreaming(page), { message: 'continue started' });
    await waitFinished(page);
    const continued = await lastMessage(chat.id);
    assert.equal(continued.id, beforeContinue.id);
    assert.ok(continued.content.startsWith(beforeContinue.content) && continued.content.length > beforeContinue.content.length);
    assert.equal(plain(await bubbleText(page)), plain(continued.content));

    // Branch from the user message: opens the new chat with the path up to it.
    await user.getByRole('button', { name: 'Branch: new chat from here' }).click();
    await until(() => !page.url().endsWith(`#/chats/${chat.id}`), { message: 'navigated to the branch' });
    const branchId = Number(/#\/chats\/(\d+)/.exec(page.url())[1]);
    assert.notEqual(branchId, chat.id);
    await page.locator('.msg-user', { hasText: 'new engines' }).waitFor();
    assert.equal(await page.locator('.message-list > .msg').count(), 2, 'greeting + user message');
    assert.match(await page.locator('.chat-sub').innerText(), /branch/);

    // Delete the user message in the branch (with confirmation).
    await page.locator('.msg-user').getByRole('button', { name: 'Delete message and everything below' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await until(async () => (await page.locator('.message-list > .msg').count()) === 1, { message: 'message deleted' });
    const left = (await env.server.api('GET', `/api/chats/${branchId}/messages`)).messages;
    assert.equal(left.length, 1);
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('a dropped WebSocket mid-reply reconnects and resumes from the last seq without duplicates', async () => {
  const c = await newCharacter();
  const chat = await env.server.api('POST', '/api/chats', { character_id: c.id });
  let connections = 0;
  let tokensOnFirst = 0;
  const resumedFrom = [];
  const { context, page, problems } = await openPage(env, {
    hash: `#/chats/${chat.id}`,
    setup: (ctx) => ctx.routeWebSocket(/\/ws\?/, (ws) => {
      const n = ++connections;
      const server = ws.connectToServer();
      ws.onMessage((m) => {
        const msg = JSON.parse(m);
        if (msg.type === 'subscribe') resumedFrom.push(msg.after_seq);
        server.send(m);
      });
      server.onMessage((m) => {
        ws.send(m);
        if (n === 1 && JSON.parse(m).type === 'token' && ++tokensOnFirst === 12) {
          ws.close({ code: 1006, reason: 'test drop' });
          server.close();
        }
      });
    }),
  });
  try {
    await until(async () => (await page.locator('.conn').textContent()) === 'live', { message: 'live connection' });
    await send(page, 'Tell me about the weather up here.');
    await until(() => connections >= 2, { message: 'a second connection after the drop' });
    const samples = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 15000 && (await isStreaming(page))) {
      samples.push(await bubbleText(page));
      await page.waitForTimeout(80);
    }
    await waitFinished(page);
    const stored = await lastMessage(chat.id);
    const final = await bubbleText(page);
    assert.equal(plain(final), plain(stored.content));
    for (const s of samples) assert.ok(plain(final).startsWith(plain(s)), `sample after the reconnect is a prefix: ${s}`);
    assert.ok(resumedFrom.length >= 2);
    assert.ok(resumedFrom.at(-1) > resumedFrom[0], `resubscribed after the last seen seq (${resumedFrom.join(', ')})`);
    assert.equal(await page.locator('.conn').textContent(), 'live');
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('falls back to Server-Sent Events when WebSocket connections fail', async () => {
  const c = await newCharacter();
  const chat = await env.server.api('POST', '/api/chats', { character_id: c.id });
  let attempts = 0;
  const { context, page, problems } = await openPage(env, {
    hash: `#/chats/${chat.id}`,
    setup: (ctx) => ctx.routeWebSocket(/\/ws\?/, (ws) => {
      attempts += 1;
      ws.close({ code: 1011, reason: 'no websockets here' });
    }),
  });
  try {
    await until(async () => (await page.locator('.conn').textContent()) === 'live', { timeout: 15000, message: 'live over SSE' });
    assert.equal(await page.locator('.conn').getAttribute('data-transport'), 'sse');
    assert.ok(attempts >= 2, `tried WebSocket first (${attempts})`);
    await send(page, 'Can you hear me over the event stream?');
    await until(async () => (await isStreaming(page)) && (await bubbleText(page)).length > 0, { message: 'streaming over SSE' });
    const first = await bubbleText(page);
    await page.waitForTimeout(400);
    assert.ok((await bubbleText(page)).length > first.length, 'text grows over SSE');
    await waitFinished(page);
    assert.equal(plain(await bubbleText(page)), plain((await lastMessage(chat.id)).content));
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('a failed reply shows the failed status and the reason', async () => {
  const c = await newCharacter();
  const chat = await env.server.api('POST', '/api/chats', { character_id: c.id });
  const { context, page, problems } = await openPage(env, { hash: `#/chats/${chat.id}` });
  try {
    await until(async () => (await page.locator('.conn').textContent()) === 'live', { message: 'live connection' });
    await send(page, '[sim:fail] this one breaks');
    const status = last(page).locator('.msg-status.status-failed');
    await status.waitFor({ timeout: 15000 });
    assert.match(await status.innerText(), /failed: simulated upstream failure/);
    await page.locator('.toast-error', { hasText: 'The reply failed' }).waitFor();
    await waitFinished(page);
    assert.equal((await lastMessage(chat.id)).status, 'failed');
    // Regenerate is offered and works after a failure.
    await last(page).getByRole('button', { name: 'Regenerate reply' }).click();
    await until(async () => (await last(page).getAttribute('data-status')) === 'failed' || (await last(page).getAttribute('data-status')) === 'completed', { message: 'regenerated reply settled' });
    assertClean(problems);
  } finally {
    await context.close();
  }
});
