// Phone-sized layout, dark mode and keyboard focus.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertClean, openPage, shot, until, useEnvironment } from './lib/browser.mjs';

const env = useEnvironment('mobile');
const PHONE = { viewport: { width: 390, height: 844 }, contextOptions: { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } };

let chatId = null;
async function chatWithReply() {
  if (chatId) return chatId;
  await env.server.api('POST', '/api/personas', { name: 'Robin', description: 'A traveller.', is_default: true });
  const chat = await env.server.api('POST', '/api/chats', { character_id: 1 });
  await env.server.api('POST', `/api/chats/${chat.id}/messages`, { content: 'Do you have a book about *lighthouses*?' });
  await until(async () => (await env.server.api('GET', `/api/chats/${chat.id}`)).generation === null, { timeout: 20000, message: 'reply' });
  chatId = chat.id;
  return chatId;
}

const overflowX = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

test('phone: gallery, character page and chat fit a 390x844 screen; chats open as a drawer', async () => {
  const id = await chatWithReply();
  const { context, page, problems } = await openPage(env, PHONE);
  try {
    await page.locator('.char-card', { hasText: 'Mira' }).waitFor();
    await until(() => page.locator('.char-card .avatar.loaded').count().then((n) => n > 0), { message: 'avatar' });
    assert.ok((await overflowX(page)) <= 0, 'no horizontal scrolling in the gallery');
    await shot(page, 'phone-gallery');

    await page.goto(`${env.server.baseUrl}/#/characters/1`);
    await page.getByRole('button', { name: 'Start new chat' }).waitFor();
    assert.ok((await overflowX(page)) <= 0, 'no horizontal scrolling on the character page');
    await shot(page, 'phone-character');

    await page.goto(`${env.server.baseUrl}/#/chats/${id}`);
    await page.locator('.message-list > .msg.last[data-status="completed"]').waitFor();
    await until(async () => (await page.locator('.conn').textContent()) === 'live', { message: 'live' });
    assert.ok((await overflowX(page)) <= 0, 'no horizontal scrolling in the chat');
    const composer = await page.locator('.composer').boundingBox();
    assert.ok(composer.y + composer.height <= 844 + 1, 'composer on screen');
    const send = await page.getByRole('button', { name: 'Send message' }).boundingBox();
    assert.ok(send.width >= 40 && send.height >= 40, 'send button is a comfortable touch target');
    assert.equal(await page.locator('.chat-sidebar').isVisible(), false, 'chat list hidden by default');
    assert.match(await page.locator('.chat-sub').innerText(), /as Robin/);
    await shot(page, 'phone-chat');

    await page.getByRole('button', { name: 'Show chats' }).tap();
    await until(() => page.locator('.chat-sidebar').isVisible(), { message: 'drawer open' });
    assert.equal(await page.getByRole('button', { name: 'Show chats' }).getAttribute('aria-expanded'), 'true');
    await page.waitForTimeout(250); // slide-in transition
    await shot(page, 'phone-chat-drawer');
    await page.getByRole('button', { name: 'Hide chats' }).tap();
    await until(async () => !(await page.locator('.chat-sidebar').isVisible()), { message: 'drawer closed' });

    // Typing and sending works on the phone layout.
    const input = page.getByLabel(/^Message to /);
    await input.tap();
    await input.fill('Short question?');
    await page.getByRole('button', { name: 'Send message' }).tap();
    await page.locator('.msg-user', { hasText: 'Short question?' }).waitFor();
    await until(async () => (await page.locator('.message-list > .msg.last').getAttribute('data-status')) === 'completed', { timeout: 20000, message: 'reply' });
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('dark mode follows prefers-color-scheme', async () => {
  const id = await chatWithReply();
  const { context, page, problems } = await openPage(env, { colorScheme: 'dark', hash: `#/chats/${id}` });
  try {
    await page.locator('.message-list > .msg.last').waitFor();
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g).map(Number);
    assert.ok(r + g + b < 120, `dark background (${bg})`);
    await shot(page, 'chat-dark');
    const phone = await context.newPage();
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${env.server.baseUrl}/#/`);
    await phone.locator('.char-card').first().waitFor();
    await shot(phone, 'phone-gallery-dark');
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('keyboard: every control is reachable with Tab, has a name and a visible focus style', async () => {
  const id = await chatWithReply();
  const { context, page, problems } = await openPage(env, { hash: `#/chats/${id}` });
  try {
    await page.locator('.message-list > .msg.last').waitFor();
    await page.evaluate(() => document.activeElement?.blur());
    const seen = [];
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      const info = await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const cs = getComputedStyle(el);
        const label = el.getAttribute('aria-label') || (el.labels && el.labels[0]?.textContent) || el.textContent.trim() || el.getAttribute('title') || '';
        return { tag: el.tagName, label: label.trim(), outline: cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) > 0, id: el.id, cls: el.className };
      });
      if (!info) continue;
      seen.push(info);
      if (info.id === 'composer-input') break;
    }
    assert.ok(seen.some((s) => s.id === 'composer-input'), 'Tab reaches the message box');
    for (const s of seen) {
      assert.ok(s.label.length > 0, `control has an accessible name: ${JSON.stringify(s)}`);
      assert.ok(s.outline, `focus is visible on ${JSON.stringify(s)}`);
    }
    // Message actions are keyboard reachable too.
    assert.ok(seen.some((s) => /Regenerate reply/.test(s.label)), 'regenerate reachable');
    assert.ok(seen.some((s) => /Previous reply|Next reply/.test(s.label)), 'swipe reachable');
    await page.keyboard.press('Shift+Tab');
    await shot(page, 'chat-focus');
    assertClean(problems);
  } finally {
    await context.close();
  }
});
