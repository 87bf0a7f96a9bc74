// Sign in, gallery (import, search, paging), character form, export, delete, personas.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertClean, openPage, shot, until, useEnvironment } from './lib/browser.mjs';
import { cardPng, v2Card } from './lib/png.mjs';

const env = useEnvironment('gallery');

test('sign in: a bad token is refused with a clear message, a good one opens the gallery, sign out', async () => {
  const { context, page, problems } = await openPage(env, { signedIn: false });
  try {
    const input = page.getByLabel('Access token');
    await input.waitFor();
    await shot(page, 'signin');
    await input.fill('trp_not_a_real_token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.locator('.form-error');
    await until(async () => /not accepted/i.test(await alert.textContent()), { message: 'bad-token message' });
    assert.equal(await alert.isVisible(), true);

    await input.fill(env.server.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Characters', level: 1 }).waitFor();
    await page.locator('.char-card', { hasText: 'Mira' }).waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('troupe.token')), env.server.token, 'token remembered');

    // Remembered across a reload.
    await page.reload();
    await page.locator('.char-card', { hasText: 'Mira' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Access token').waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('troupe.token')), null, 'token forgotten');
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('import a PNG card with the file picker: it appears in the gallery with its avatar and tags', async () => {
  const { context, page, problems } = await openPage(env);
  try {
    await page.locator('.char-card', { hasText: 'Mira' }).waitFor();
    const png = cardPng(v2Card({
      name: 'Captain Vela',
      description: '{{char}} commands the airship *Meridian* and trusts maps more than people.',
      first_mes: '*Vela looks up from the charts.* "You are late, {{user}}."',
      alternate_greetings: ['"Welcome aboard."'],
      tags: ['sky pirates', 'adventure'],
      creator: 'e2e',
    }), { rgb: [30, 120, 200] });
    await page.getByTestId('import-file').setInputFiles({ name: 'vela.png', mimeType: 'image/png', buffer: png });
    const card = page.locator('.char-card', { hasText: 'Captain Vela' });
    await card.waitFor();
    const li = page.locator('.gallery > li', { has: card });
    assert.match(await li.textContent(), /sky pirates/);
    assert.match(await li.textContent(), /adventure/);
    assert.match(await card.textContent(), /Captain Vela commands the airship/, '{{char}} shown as the name in the snippet');
    // The avatar is fetched with the bearer header and shown through a blob: URL.
    const img = card.locator('.avatar img');
    await until(async () => (await img.evaluate((el) => el.complete && el.naturalWidth)) === 64, { message: 'avatar image decoded' });
    assert.match(await img.getAttribute('src'), /^blob:/);
    await until(() => page.locator('.char-card .avatar.loaded').count().then((n) => n === 2), { message: 'all avatars loaded' });
    await shot(page, 'gallery');
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('a broken card shows the server\'s reason; drag and drop imports a JSON card', async () => {
  const { context, page, problems } = await openPage(env);
  try {
    await page.locator('.char-card', { hasText: 'Mira' }).waitFor();
    await page.getByTestId('import-file').setInputFiles({
      name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"spec":"chara_card_v2","data":{}}'),
    });
    const msg = page.locator('.import-msg');
    await msg.waitFor();
    assert.match(await msg.textContent(), /broken\.json/);
    assert.match(await msg.textContent(), /card has no name/);

    await page.getByTestId('import-file').setInputFiles({ name: 'junk.bin', mimeType: 'application/octet-stream', buffer: Buffer.from('not a card at all') });
    await until(async () => /neither a PNG nor a JSON card/.test(await msg.textContent()), { message: '415 reason' });
    await shot(page, 'gallery-import-error');

    // Drag and drop a JSON card onto the page.
    const json = JSON.stringify(v2Card({ name: 'Dropped Dana', description: 'Arrived by drag and drop.', tags: ['dnd'] }));
    const dt = await page.evaluateHandle((text) => {
      const d = new DataTransfer();
      d.items.add(new File([text], 'dana.json', { type: 'application/json' }));
      return d;
    }, json);
    await page.dispatchEvent('.gallery-page', 'dragenter', { dataTransfer: dt });
    assert.equal(await page.locator('.gallery-page.dragging').count(), 1, 'drop overlay shown');
    await page.dispatchEvent('.gallery-page', 'drop', { dataTransfer: dt });
    await page.locator('.char-card', { hasText: 'Dropped Dana' }).waitFor();
    assert.equal(await page.locator('.gallery-page.dragging').count(), 0);
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('search is server-side and paging loads more with next_after', async () => {
  for (let i = 0; i < 26; i++) await env.server.api('POST', '/api/characters', { name: `Extra ${String(i).padStart(2, '0')}`, tags: ['bulk'] });
  await env.server.api('POST', '/api/characters', { name: 'Zephyrine', description: 'Unique name for the search test.' });
  const { context, page, problems } = await openPage(env);
  try {
    const cards = page.locator('.char-card');
    await page.locator('.char-card', { hasText: 'Mira' }).waitFor();
    assert.equal(await cards.count(), 24, 'first page');
    const more = page.getByRole('button', { name: 'Load more characters' });
    await more.click();
    await until(async () => (await cards.count()) > 24, { message: 'second page' });
    await until(async () => !(await more.isVisible()), { message: 'no more pages' });
    const total = (await env.server.api('GET', '/api/characters?limit=200')).characters.length;
    assert.equal(await cards.count(), total);

    await page.getByLabel('Search characters').fill('zephyr');
    await until(async () => (await cards.count()) === 1, { message: 'search narrowed to one' });
    assert.match(await cards.first().textContent(), /Zephyrine/);
    await page.getByLabel('Search characters').fill('no-such-name');
    await page.getByText('No character name contains').waitFor();
    await page.getByLabel('Search characters').fill('');
    await until(async () => (await cards.count()) === 24, { message: 'search cleared' });
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('create, edit, export and delete a character through the form', async () => {
  const { context, page, problems } = await openPage(env, { hash: '#/characters/new' });
  try {
    await page.getByRole('heading', { name: 'New character' }).waitFor();
    // Empty name is refused.
    await page.getByRole('button', { name: 'Create character' }).click();
    await page.getByText('A name is required.').waitFor();

    await page.getByLabel('Name').fill('Orrin the Archivist');
    await page.getByLabel('Description').fill('{{char}} guards the *sunken* archive.');
    await page.getByLabel('Personality').fill('meticulous, kind');
    await page.getByLabel('Scenario').fill('A flooded library.');
    await page.getByLabel('First message').fill('*Orrin adjusts his spectacles.* Welcome, {{user}}.');
    await page.getByRole('button', { name: 'Add alternate greeting' }).click();
    await page.getByLabel('Alternate greeting 1', { exact: true }).fill('Ah, a visitor!');
    await page.getByLabel('Example messages').fill('<START>\n{{user}}: Hi\n{{char}}: Quietly, please.');
    await page.getByLabel('System prompt').fill('Stay in character.');
    await page.getByLabel('Post-history instructions').fill('Be brief.');
    await page.getByLabel('Tags').fill('library, calm');
    await shot(page, 'character-form');
    await page.getByRole('button', { name: 'Create character' }).click();
    await page.getByRole('heading', { name: 'Orrin the Archivist', level: 1 }).waitFor();
    const id = Number(/#\/characters\/(\d+)/.exec(page.url())[1]);
    const saved = await env.server.api('GET', `/api/characters/${id}`);
    assert.equal(saved.personality, 'meticulous, kind');
    assert.deepEqual(saved.alternate_greetings, ['Ah, a visitor!']);
    assert.deepEqual(saved.tags, ['library', 'calm']);
    assert.equal(saved.post_history_instructions, 'Be brief.');
    await shot(page, 'character');

    // Edit.
    await page.getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: 'Edit Orrin the Archivist' }).waitFor();
    assert.equal(await page.getByLabel('Scenario').inputValue(), 'A flooded library.');
    await page.getByLabel('Scenario').fill('A dry library, at last.');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'Orrin the Archivist', level: 1 }).waitFor();
    await page.getByText('A dry library, at last.').waitFor();

    // Export JSON v3 and PNG.
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export card as JSON v3' }).click()]);
    const file = await dl.path();
    const card = JSON.parse(await (await import('node:fs/promises')).readFile(file, 'utf8'));
    assert.equal(card.spec, 'chara_card_v3');
    assert.equal(card.data.name, 'Orrin the Archivist');
    assert.match(dl.suggestedFilename(), /\.json$/);
    const [dl2] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export card as PNG' }).click()]);
    const pngBytes = await (await import('node:fs/promises')).readFile(await dl2.path());
    assert.equal(pngBytes.subarray(1, 4).toString('latin1'), 'PNG');
    assert.match(dl2.suggestedFilename(), /\.png$/);

    // Delete with confirmation: cancel first, then confirm.
    await page.getByRole('button', { name: 'Delete character' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    assert.equal(await page.getByRole('dialog').count(), 0);
    await page.getByRole('button', { name: 'Delete character' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: 'Characters', level: 1 }).waitFor();
    await assert.rejects(env.server.api('GET', `/api/characters/${id}`), /404/);
    assertClean(problems);
  } finally {
    await context.close();
  }
});

test('personas: create, edit, set default, delete; the picker offers them for new chats', async () => {
  const { context, page, problems } = await openPage(env, { hash: '#/personas' });
  try {
    await page.getByRole('heading', { name: 'Personas', level: 1 }).waitFor();
    await page.getByLabel('Name').fill('Sam');
    await page.getByLabel('Description').fill('A sailor with salt in the beard.');
    await page.getByRole('button', { name: 'Create persona' }).click();
    await page.locator('.persona', { hasText: 'Sam' }).waitFor();
    await page.getByLabel('Name').fill('Robin');
    await page.getByLabel('Use for new chats by default').check();
    await page.getByRole('button', { name: 'Create persona' }).click();
    await page.locator('.persona', { hasText: 'Robin' }).locator('.badge', { hasText: 'default' }).waitFor();

    await page.getByRole('button', { name: 'Make Sam the default persona' }).click();
    await page.locator('.persona', { hasText: 'Sam' }).locator('.badge', { hasText: 'default' }).waitFor();
    const list = (await env.server.api('GET', '/api/personas')).personas;
    assert.equal(list.find((p) => p.name === 'Sam').is_default, true);
    assert.equal(list.find((p) => p.name === 'Robin').is_default, false);

    await page.getByRole('button', { name: 'Edit Robin' }).click();
    await page.getByLabel('Name').fill('Robin Hart');
    await page.getByRole('button', { name: 'Save persona' }).click();
    await page.locator('.persona', { hasText: 'Robin Hart' }).waitFor();
    await shot(page, 'personas');

    await page.getByRole('button', { name: 'Delete Robin Hart' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await until(async () => (await page.locator('.persona').count()) === 1, { message: 'persona deleted' });

    // The new-chat picker on a character page preselects the default persona.
    await page.goto(`${env.server.baseUrl}/#/characters/1`);
    const picker = page.getByLabel('Chat as');
    await picker.waitFor();
    assert.match(await picker.locator('option:checked').textContent(), /Sam \(default\)/);
    assertClean(problems);
  } finally {
    await context.close();
  }
});
