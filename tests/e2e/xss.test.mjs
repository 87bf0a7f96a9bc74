// Hostile card and message text must render as visible text: no dialog, no injected element,
// no script run. Also checks the small Markdown renderer's output structure.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertClean, openPage, shot, until, useEnvironment } from './lib/browser.mjs';

const env = useEnvironment('xss');

const P = {
  name: '<img src=x onerror="window.__xss=1;alert(1)">Eve',
  description: '<script>window.__xss=2;alert(2)</script> {{char}} is *sly*.',
  personality: '<svg onload="window.__xss=3">',
  scenario: '"><iframe src="javascript:alert(4)"></iframe>',
  first_mes: '<img src=x onerror=alert(5)> *waves* <b>not bold</b> **really bold**',
  alternate_greetings: ['<a href="javascript:alert(6)">click</a>'],
  tags: ['<script>alert(7)</script>', 'ok'],
  creator_notes: '<style>body{display:none}</style>',
};

async function injectedCount(page) {
  return page.evaluate(() => ({
    handlers: document.querySelectorAll('[onerror], [onload], [onclick]').length,
    imgs: document.querySelectorAll('img[src="x"]').length,
    iframes: document.querySelectorAll('iframe').length,
    styles: document.querySelectorAll('style').length,
    jsLinks: document.querySelectorAll('a[href^="javascript:"]').length,
    scripts: [...document.querySelectorAll('script')].map((s) => s.src || 'inline'),
    bolds: document.querySelectorAll('b').length,
    flag: window.__xss ?? null,
  }));
}

function assertNoInjection(found) {
  assert.deepEqual(found, {
    handlers: 0, imgs: 0, iframes: 0, styles: 0, jsLinks: 0, bolds: 0, flag: null,
    scripts: found.scripts.filter((s) => s.endsWith('/web/js/main.js')),
  });
  assert.equal(found.scripts.length, 1, 'only the app module script');
}

test('hostile card fields and messages render as visible text', async () => {
  const { context, page, problems } = await openPage(env);
  try {
    await page.locator('.char-card', { hasText: 'Mira' }).waitFor();
    // Import the hostile card through the file picker, as a JSON card.
    const card = { spec: 'chara_card_v2', spec_version: '2.0', data: { ...P, mes_example: '', system_prompt: '', post_history_instructions: '', creator: '<i>x</i>', character_version: '1', extensions: {} } };
    await page.getByTestId('import-file').setInputFiles({ name: 'eve.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(card)) });
    const tile = page.locator('.char-card', { hasText: 'Eve' });
    await tile.waitFor();
    assert.match(await tile.innerText(), /<img src=x onerror="window.__xss=1;alert\(1\)">Eve/);
    assert.match(await page.locator('.gallery').innerText(), /<script>alert\(7\)<\/script>/);
    assertNoInjection(await injectedCount(page));
    await shot(page, 'xss-gallery');

    // Character page: every field as text.
    await tile.click();
    await page.locator('.char-hero h1').waitFor();
    assert.equal(await page.locator('.char-hero h1').innerText(), P.name);
    const text = await page.locator('.character-page').innerText();
    for (const needle of ['<script>window.__xss=2;alert(2)</script>', '<svg onload="window.__xss=3">', '<iframe src="javascript:alert(4)"></iframe>', '<b>not bold</b>', '<a href="javascript:alert(6)">click</a>', '<style>body{display:none}</style>']) {
      assert.ok(text.includes(needle), `visible: ${needle}`);
    }
    assert.ok((await page.title()).includes(P.name));
    assertNoInjection(await injectedCount(page));
    await shot(page, 'xss-character');

    // Chat: the greeting and a hostile user message (the simulator echoes words of it back).
    await page.getByRole('button', { name: 'Start new chat' }).click();
    await page.locator('.chat-pane').waitFor();
    const greeting = page.locator('.msg-assistant').first();
    await greeting.waitFor();
    assert.match(await greeting.locator('.msg-body').innerText(), /<img src=x onerror=alert\(5\)> waves <b>not bold<\/b> really bold/);
    assert.equal(await greeting.locator('em.action').innerText(), 'waves');
    assert.equal(await greeting.locator('strong').innerText(), 'really bold');

    const hostile = '<img src=x onerror="window.__xss=9;alert(9)"> <script>alert(10)</script> **fine** `<b>code</b>`';
    const input = page.getByLabel(/^Message to /);
    await until(async () => (await page.locator('.conn').textContent()) === 'live', { message: 'live connection' });
    await input.fill(hostile);
    await input.press('Enter');
    const user = page.locator('.msg-user').last();
    await user.waitFor();
    assert.equal(await user.locator('.msg-body').innerText(), '<img src=x onerror="window.__xss=9;alert(9)"> <script>alert(10)</script> fine <b>code</b>');
    assert.equal(await user.locator('code').innerText(), '<b>code</b>');
    await until(async () => (await page.locator('.message-list > .msg.last.streaming').count()) === 0 && (await page.locator('.message-list > .msg.last').getAttribute('data-status')) === 'completed', { timeout: 20000, message: 'reply finished' });
    const reply = await page.locator('.message-list > .msg.last .msg-body').innerText();
    assert.ok(reply.length > 0);
    assertNoInjection(await injectedCount(page));
    await shot(page, 'xss-chat');

    // Editing a message into markup keeps it text.
    await user.getByRole('button', { name: 'Edit message' }).click();
    await user.getByLabel('Edit message text').fill('<img src=x onerror=alert(11)>edited');
    await user.getByRole('button', { name: 'Save' }).click();
    await until(async () => (await user.locator('.msg-body').innerText()) === '<img src=x onerror=alert(11)>edited', { message: 'edited text' });
    assertNoInjection(await injectedCount(page));
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('markdown renderer: bold, italics, actions, code, paragraphs, line breaks; never markup', async () => {
  const { context, page, problems } = await openPage(env);
  try {
    await page.locator('.char-card').first().waitFor();
    const out = await page.evaluate(async () => {
      const { renderMarkdown } = await import('/web/js/markdown.js');
      const render = (s) => {
        const div = document.createElement('div');
        div.appendChild(renderMarkdown(s));
        return div;
      };
      const a = render('**bold** and *an action* and _soft_ with `x < y` and "hello there"\nline two\n\nsecond <i>para</i>');
      const b = render('before\n```js\nconst a = "<b>";\n```\nafter');
      const c = render('*open action without end and ** stray');
      const d = render('snake_case_name stays');
      return {
        aHtml: a.innerHTML,
        paragraphs: a.querySelectorAll('p').length,
        brs: a.querySelectorAll('br').length,
        strong: a.querySelector('strong')?.textContent,
        action: a.querySelector('em.action')?.textContent,
        em: a.querySelector('em:not(.action)')?.textContent,
        code: a.querySelector('code')?.textContent,
        dialogue: a.querySelector('.dialogue')?.textContent,
        italicTags: a.querySelectorAll('i').length,
        preCode: b.querySelector('pre code')?.textContent,
        lang: b.querySelector('pre code')?.dataset.lang,
        bText: b.textContent,
        cText: c.textContent,
        cEm: c.querySelectorAll('em').length,
        dText: d.textContent,
        dEm: d.querySelectorAll('em').length,
      };
    });
    assert.equal(out.paragraphs, 2);
    assert.equal(out.brs, 1);
    assert.equal(out.strong, 'bold');
    assert.equal(out.action, 'an action');
    assert.equal(out.em, 'soft');
    assert.equal(out.code, 'x < y');
    assert.equal(out.dialogue, '"hello there"');
    assert.equal(out.italicTags, 0, '<i> stays text');
    assert.ok(out.aHtml.includes('&lt;i&gt;para&lt;/i&gt;'));
    assert.equal(out.preCode, 'const a = "<b>";');
    assert.equal(out.lang, 'js');
    assert.match(out.bText, /^before.*after$/s);
    assert.equal(out.cText, '*open action without end and ** stray');
    assert.equal(out.cEm, 0);
    assert.equal(out.dText, 'snake_case_name stays');
    assert.equal(out.dEm, 0);
    assertClean(problems);
  } finally {
    await context.close();
  }
});
