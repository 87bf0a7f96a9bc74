// Memory inspector: a fact told early in a chat is recalled later (the simulator then opens with
// "I remember you said: …"); the inspector on that reply lists the memory with its score parts and
// the retrieval mode the server recorded, jumps to the source message, and searches memories.
// With the GloVe file the build made the mode must be "vector"; without it, "keyword" (marked as
// the fallback).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { assertClean, openPage, shot, until, useEnvironment } from './lib/browser.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GLOVE = path.resolve(HERE, '../../build/glove/glove-6b-100d.tvec');
const gloveAvailable = fs.existsSync(GLOVE);
const expectedMode = gloveAvailable ? 'vector' : 'keyword';

const SETTINGS = {
  'llm.sim_first_token_ms': 0,
  'llm.sim_token_delay_ms': 5,
  'llm.sim_reply_tokens': 24,
  // A small prompt window: the fact leaves it after a few turns and must be recalled.
  'llm.context_size': 640,
  'memory.cache_ttl_ms': 0,
  // A loaded CI machine runs several browsers at once: a vector search that waits past the
  // default 50 ms deadline would fall back to keywords. This test is about the vector path; the
  // fallback has its own environment below.
  'memory.search_timeout_ms': 5000,
  ...(gloveAvailable ? { 'memory.glove_path': GLOVE } : {}),
};
const env = useEnvironment('memory-inspector', { settings: SETTINGS });

// Vector search that can never meet its deadline: every retrieval falls back to keywords.
const fallback = useEnvironment('memory-inspector-fallback', {
  settings: { ...SETTINGS, 'memory.search_timeout_ms': 0 },
});

const FACT = 'Remember this: my sister Ines keeps honeybees on a rooftop in Lisbon.';
const FILLER = [
  'Tell me about the tavern and the music tonight.',
  'What do the horses eat before a long winter road?',
  'Describe the harbor lanterns and the market stalls.',
  'Which songs do the sailors sing about the stars?',
];
const QUESTION = 'Where does my sister keep her honeybees?';

async function api(pathname, e = env) {
  const res = await fetch(e.server.baseUrl + pathname, { headers: { Authorization: `Bearer ${e.server.token}` } });
  assert.equal(res.status, 200, `${pathname}: ${res.status}`);
  return res.json();
}

async function send(page, text) {
  const replies = page.locator('.msg-assistant');
  const before = await replies.count();
  const input = page.getByLabel(/^Message to /);
  await input.fill(text);
  await input.press('Enter');
  await until(async () => (await replies.count()) > before, { message: 'a new reply' });
  const last = replies.last();
  await until(async () => !(await last.evaluate((el) => el.classList.contains('streaming'))) &&
    (await last.getAttribute('data-status')) === 'completed', { timeout: 20000, message: 'the reply to finish' });
  return last;
}

test('the inspector shows the memories a reply used, with scores, mode and search', async () => {
  const { context, page, problems } = await openPage(env);
  try {
    await page.locator('.char-card', { hasText: 'Mira' }).click();
    await page.getByRole('button', { name: 'Start new chat' }).click();
    await page.locator('.chat-pane').waitFor();
    await until(async () => (await page.locator('.conn').textContent()) === 'live', { message: 'live connection' });
    const chatId = Number(/#\/chats\/(\d+)/.exec(page.url())[1]);

    await send(page, FACT);
    for (const f of FILLER) await send(page, f);
    const reply = await send(page, QUESTION);
    assert.match(await reply.locator('.msg-body').innerText(), /I remember you said/);

    // What the server recorded for this reply.
    const msgs = (await api(`/api/chats/${chatId}/messages?limit=50`)).messages;
    const stored = msgs.filter((m) => m.role === 'assistant').at(-1);
    const factMsg = msgs.find((m) => m.content === FACT);
    assert.ok(stored.generation_id && factMsg);
    const gen = await api(`/api/generations/${stored.generation_id}`);
    const used = await api(`/api/generations/${stored.generation_id}/memories`);
    assert.equal(gen.retrieval_mode, expectedMode);
    assert.equal(used.retrieval_mode, gen.retrieval_mode);
    assert.deepEqual(used.memories.map((m) => m.id), gen.memory_ids);
    const fact = used.memories.find((m) => m.message_id === factMsg.id);
    assert.ok(fact, `the reply used the fact: ${JSON.stringify(used.memories.map((m) => m.text))}`);

    // Open the inspector from the keyboard.
    const opener = reply.locator('[data-action="memories"]');
    await opener.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByTestId('memory-inspector');
    await dialog.waitFor();
    const mode = dialog.locator('.mem-used [data-testid="retrieval-mode"]');
    await mode.waitFor();
    assert.equal(await mode.getAttribute('data-mode'), used.retrieval_mode);
    assert.match(await mode.innerText(), expectedMode === 'vector' ? /Vector search/ : /Keyword fallback/);
    const items = dialog.locator('.mem-used .mem-item');
    assert.equal(await items.count(), used.memories.length);
    const item = dialog.locator(`.mem-used .mem-item[data-memory-id="${fact.id}"]`);
    assert.equal(await item.locator('.mem-text').innerText(), FACT);
    assert.equal(await item.locator('.mem-rank').innerText(), `#${fact.rank + 1}`);
    for (const part of ['relevance', 'recency', 'importance', 'score']) {
      const shown = await item.locator(`[data-part="${part}"] .mem-meter-value`).innerText();
      assert.equal(shown, fact[part].toFixed(2), part);
      const width = await item.locator(`[data-part="${part}"] .mem-bar-fill`).evaluate((el) => el.getBoundingClientRect().width);
      if (fact[part] > 0.05) assert.ok(width > 0, `${part} bar drawn`);
    }
    await shot(page, 'memory-inspector');

    // Escape closes and focus returns to the button.
    await page.keyboard.press('Escape');
    await until(async () => (await dialog.count()) === 0, { message: 'inspector closed' });
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.action), 'memories');

    // Search in the panel: the character's memories for a query, with in-window flags.
    await opener.click();
    await dialog.waitFor();
    await dialog.getByLabel('Search memories', { exact: true }).fill('honeybees Lisbon');
    const results = dialog.locator('.mem-results .mem-item');
    await until(async () => (await results.count()) > 0, { message: 'search results' });
    const searched = await api(`/api/chats/${chatId}/memories?query=${encodeURIComponent('honeybees Lisbon')}&limit=20`);
    assert.equal(await results.count(), searched.memories.length);
    assert.equal(await dialog.locator('.mem-results [data-testid="retrieval-mode"]').getAttribute('data-mode'), searched.retrieval_mode);
    const windowed = searched.memories.filter((m) => m.in_window).length;
    assert.equal(await dialog.locator('.mem-results [data-testid="in-window"]').count(), windowed);
    assert.ok(windowed > 0, 'the question itself is in the window');
    await shot(page, 'memory-inspector-search');

    // "Show in chat" closes the panel and focuses the source message.
    await dialog.locator(`.mem-used .mem-item[data-memory-id="${fact.id}"] .mem-jump`).click();
    await until(async () => (await dialog.count()) === 0, { message: 'inspector closed by the jump' });
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.messageId), String(factMsg.id));

    // Phone width: the panel fits without horizontal scrolling.
    await page.setViewportSize({ width: 390, height: 844 });
    await opener.click();
    await dialog.locator('.mem-used .mem-item').first().waitFor();
    const overflow = await dialog.evaluate((el) => el.scrollWidth - el.clientWidth);
    assert.ok(overflow <= 1, `no horizontal overflow (${overflow})`);
    await shot(page, 'memory-inspector-phone');
    await page.keyboard.press('Escape');
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('keyword fallback is marked as such, as the server recorded it', async () => {
  const { context, page, problems } = await openPage(fallback);
  try {
    await page.locator('.char-card', { hasText: 'Mira' }).click();
    await page.getByRole('button', { name: 'Start new chat' }).click();
    await page.locator('.chat-pane').waitFor();
    await until(async () => (await page.locator('.conn').textContent()) === 'live', { message: 'live connection' });
    const chatId = Number(/#\/chats\/(\d+)/.exec(page.url())[1]);
    await send(page, FACT);
    for (const f of FILLER) await send(page, f);
    const reply = await send(page, QUESTION);
    const msgs = (await api(`/api/chats/${chatId}/messages?limit=50`, fallback)).messages;
    const stored = msgs.filter((m) => m.role === 'assistant').at(-1);
    const used = await api(`/api/generations/${stored.generation_id}/memories`, fallback);
    assert.equal(used.retrieval_mode, 'keyword');
    await reply.locator('[data-action="memories"]').click();
    const mode = page.getByTestId('memory-inspector').locator('.mem-used [data-testid="retrieval-mode"]');
    await mode.waitFor();
    assert.equal(await mode.getAttribute('data-mode'), 'keyword');
    assert.match(await mode.innerText(), /Keyword fallback/);
    assert.equal(await page.locator('.mem-used .mem-item').count(), used.memories.length);
    await shot(page, 'memory-inspector-fallback');
    await page.keyboard.press('Escape');
    assertClean(problems);
  } finally {
    await context.close();
  }
});
