// Character card import/export: V1/V2/V3 JSON, PNG cards built here (chara/ccv3 tEXt), byte-exact
// round trip of extensions and unknown fields, broken/hostile inputs rejected with nothing stored.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { expectError, expectStatus, rawHttp } from './lib/client.mjs';
import { useServer } from './lib/fixtures.mjs';
import { encodePng, cardTextChunk, readPngChunks, pngTextChunks, decodeCardChunk, pngSize, pngChunk, textChunkData, PNG_SIGNATURE } from './lib/png.mjs';

const T = { timeout: 30000 };
const ctx = useServer({ name: 'cards', settings: { 'server.max_body_bytes': 1 << 20 } });

// Exact bytes that must come back unchanged: odd number spellings, escapes, key order, nesting.
const EXT_RAW =
  '{"depth_prompt":{"prompt":"be kind","depth":4},"troupe_probe":{"ratio":1.50,"big":1e3,"tiny":2.50e-3,' +
  '"neg_zero":-0.0,"cafe":"caf\\u00e9","emoji":"😀","order":{"z":1,"a":2},"nil":null,"arr":[1.0,true,"x",[]]}}';
const UNKNOWN_RAW = '"x_unknown_field":{"keep":10.0,"list":[1E2]}';

function v2CardText(name, { extRaw = EXT_RAW, unknownRaw = UNKNOWN_RAW } = {}) {
  return (
    '{"spec":"chara_card_v2","spec_version":"2.0","data":{' +
    `"name":${JSON.stringify(name)},"description":"{{char}} is a lighthouse keeper.","personality":"calm",` +
    '"scenario":"A storm.","first_mes":"Welcome to the light.","mes_example":"<START>\\n{{user}}: Hello\\n{{char}}: Hi.",' +
    '"creator_notes":"n","system_prompt":"","post_history_instructions":"","alternate_greetings":["Another storm."],' +
    '"character_book":null,"tags":["sea"],"creator":"me","character_version":"3",' +
    `"extensions":${extRaw},${unknownRaw}}}`
  );
}

function v3CardText(name, extRaw = EXT_RAW) {
  return (
    '{"spec":"chara_card_v3","spec_version":"3.0","data":{' +
    `"name":${JSON.stringify(name)},"description":"V3 description","personality":"","scenario":"","first_mes":"V3 hello",` +
    '"mes_example":"","creator_notes":"","system_prompt":"","post_history_instructions":"","alternate_greetings":[],' +
    '"tags":[],"creator":"","character_version":"","group_only_greetings":[],"nickname":"Nick",' +
    `"extensions":${extRaw}}}`
  );
}

// Semantic JSON equality (-0 and 0 are the same JSON number).
const sameJson = (a, b, msg) => assert.deepEqual(JSON.parse(JSON.stringify(a)), JSON.parse(JSON.stringify(b)), msg);

const importRaw = (body, contentType) => ctx.api.req('POST', '/api/characters/import', { raw: body, headers: { 'Content-Type': contentType } });
const allCharacters = async () => expectStatus(await ctx.api.get('/api/characters?limit=200'), 200).characters.map((c) => c.id);

async function exportCard(id, format, spec) {
  const res = await ctx.api.get(`/api/characters/${id}/export?format=${format}&spec=${spec}`);
  assert.equal(res.status, 200, `export ${format}/${spec}: ${res.text.slice(0, 200)}`);
  assert.ok(res.headers.get('content-disposition'), 'Content-Disposition header');
  return res;
}

describe('import', () => {
  test('V2 JSON card', T, async () => {
    const res = await importRaw(v2CardText('Keeper'), 'application/json');
    const c = expectStatus(res, 201);
    assert.equal(c.name, 'Keeper');
    assert.equal(c.description, '{{char}} is a lighthouse keeper.');
    assert.equal(c.first_mes, 'Welcome to the light.');
    assert.deepEqual(c.alternate_greetings, ['Another storm.']);
    assert.deepEqual(c.tags, ['sea']);
    assert.equal(c.source_spec, 'v2');
    sameJson(c.extensions, JSON.parse(EXT_RAW));
  });

  test('V1 JSON card', T, async () => {
    const v1 = { name: 'Oldie', description: 'From the V1 days.', personality: 'grumpy', scenario: 's', first_mes: 'Hmph.', mes_example: '' };
    const c = expectStatus(await importRaw(JSON.stringify(v1), 'application/json'), 201);
    assert.equal(c.name, 'Oldie');
    assert.equal(c.description, 'From the V1 days.');
    assert.equal(c.first_mes, 'Hmph.');
    assert.equal(c.source_spec, 'v1');
  });

  test('V3 JSON card', T, async () => {
    const c = expectStatus(await importRaw(v3CardText('Thirds'), 'application/json'), 201);
    assert.equal(c.name, 'Thirds');
    assert.equal(c.first_mes, 'V3 hello');
    assert.equal(c.source_spec, 'v3');
  });

  test('PNG card with a chara chunk; avatar is the imported image', T, async () => {
    const png = encodePng({ width: 3, height: 2, chunks: [cardTextChunk('chara', v2CardText('Pixel'))] });
    const c = expectStatus(await importRaw(png, 'image/png'), 201);
    assert.equal(c.name, 'Pixel');
    assert.equal(c.has_avatar, true);
    sameJson(c.extensions, JSON.parse(EXT_RAW));
    const av = await ctx.api.get(`/api/characters/${c.id}/avatar`);
    assert.equal(av.status, 200);
    assert.match(av.headers.get('content-type') ?? '', /image\/png/);
    assert.ok(readPngChunks(av.buf).every((ch) => ch.crcOk));
    assert.deepEqual(pngSize(av.buf), { width: 3, height: 2 });
  });

  test('PNG with both chara and ccv3: ccv3 wins', T, async () => {
    const png = encodePng({ chunks: [cardTextChunk('chara', v2CardText('OldName')), cardTextChunk('ccv3', v3CardText('NewName'))] });
    const c = expectStatus(await importRaw(png, 'image/png'), 201);
    assert.equal(c.name, 'NewName');
    assert.equal(c.source_spec, 'v3');
  });
});

describe('export round trip', () => {
  const checkJsonExport = async (id, spec) => {
    const res = await exportCard(id, 'json', spec);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const card = JSON.parse(res.text);
    assert.equal(card.spec, spec === 'v2' ? 'chara_card_v2' : 'chara_card_v3');
    assert.ok(res.text.includes(EXT_RAW), `extensions must come back byte-identical (${spec}); got: ${res.text.slice(0, 600)}`);
    return { res, card };
  };

  test('JSON-imported card exports v2/v3 JSON with identical extensions and unknown fields', T, async () => {
    const c = expectStatus(await importRaw(v2CardText('Roundtrip'), 'application/json'), 201);
    const { res, card } = await checkJsonExport(c.id, 'v2');
    assert.equal(card.data.name, 'Roundtrip');
    assert.equal(card.data.description, '{{char}} is a lighthouse keeper.', 'macros are not expanded on export');
    assert.ok(res.text.includes(UNKNOWN_RAW), `unknown card fields come back as imported: ${res.text.slice(0, 600)}`);
    const v3 = await checkJsonExport(c.id, 'v3');
    assert.equal(v3.card.data.name, 'Roundtrip');
    assert.equal(v3.card.spec_version, '3.0');
  });

  test('PNG export carries chara (V2) and ccv3 (V3) with identical extensions', T, async () => {
    const png = encodePng({ width: 4, height: 4, chunks: [cardTextChunk('chara', v2CardText('PngTrip'))] });
    const c = expectStatus(await importRaw(png, 'image/png'), 201);
    for (const spec of ['v2', 'v3']) {
      const res = await exportCard(c.id, 'png', spec);
      assert.match(res.headers.get('content-type') ?? '', /image\/png/);
      const chunks = readPngChunks(res.buf);
      assert.ok(chunks.every((ch) => ch.crcOk), 'every exported chunk has a valid CRC');
      assert.equal(chunks[0].type, 'IHDR');
      assert.equal(chunks.at(-1).type, 'IEND');
      assert.deepEqual(pngSize(res.buf), { width: 4, height: 4 }, 'the imported image is kept');
      const text = pngTextChunks(res.buf);
      assert.ok(text.chara, 'chara chunk');
      assert.ok(text.ccv3, 'ccv3 chunk');
      const chara = decodeCardChunk(text.chara);
      const ccv3 = decodeCardChunk(text.ccv3);
      assert.equal(JSON.parse(chara).spec, 'chara_card_v2');
      assert.equal(JSON.parse(ccv3).spec, 'chara_card_v3');
      assert.ok(chara.includes(EXT_RAW), `chara extensions byte-identical: ${chara.slice(0, 400)}`);
      assert.ok(ccv3.includes(EXT_RAW), `ccv3 extensions byte-identical: ${ccv3.slice(0, 400)}`);
    }
    // And the PNG-imported card exports JSON identically too.
    await checkJsonExport(c.id, 'v2');
  });

  test('exported PNG imports again to the same character', T, async () => {
    const c = expectStatus(await importRaw(v2CardText('Again'), 'application/json'), 201);
    const res = await exportCard(c.id, 'png', 'v3');
    const c2 = expectStatus(await importRaw(res.buf, 'image/png'), 201);
    assert.notEqual(c2.id, c.id);
    for (const k of ['name', 'description', 'personality', 'scenario', 'first_mes', 'mes_example', 'alternate_greetings', 'tags', 'extensions']) {
      sameJson(c2[k], c[k], `field ${k}`);
    }
    const again = await exportCard(c2.id, 'json', 'v2');
    assert.ok(again.text.includes(EXT_RAW));
  });
});

describe('broken and hostile cards store nothing', () => {
  const rejects = async (body, contentType, statuses, what) => {
    const before = await allCharacters();
    const res = await importRaw(body, contentType);
    assert.ok(statuses.includes(res.status), `${what}: expected ${statuses.join('/')}, got ${res.status}: ${res.text.slice(0, 200)}`);
    expectError(res, res.status);
    assert.deepEqual(await allCharacters(), before, `${what}: character list unchanged`);
  };

  test('bad CRC in the card chunk → 400', T, async () => {
    const png = encodePng({ chunks: [cardTextChunk('chara', v2CardText('BadCrc'), { badCrc: true })] });
    await rejects(png, 'image/png', [400], 'bad CRC');
  });

  test('bad CRC in IHDR → 400', T, async () => {
    const png = Buffer.from(encodePng({ chunks: [cardTextChunk('chara', v2CardText('BadIhdr'))] }));
    png[8 + 8 + 13] ^= 0xff; // first CRC byte of IHDR
    await rejects(png, 'image/png', [400], 'bad IHDR CRC');
  });

  test('truncated PNG → 400', T, async () => {
    const png = encodePng({ chunks: [cardTextChunk('chara', v2CardText('Cut'))] });
    await rejects(png.subarray(0, 60), 'image/png', [400], 'truncated');
  });

  test('PNG without a card chunk → 400', T, async () => {
    await rejects(encodePng(), 'image/png', [400], 'no card chunk');
  });

  test('card chunk that is not base64 JSON → 400', T, async () => {
    const png = encodePng({ chunks: [pngChunk('tEXt', textChunkData('chara', '!!!not base64 json!!!'))] });
    await rejects(png, 'image/png', [400], 'bad payload');
    const png2 = encodePng({ chunks: [pngChunk('tEXt', textChunkData('chara', Buffer.from('{"spec":"chara_card_v2","data":').toString('base64')))] });
    await rejects(png2, 'image/png', [400], 'truncated JSON payload');
  });

  test('chunk declaring a huge length → 413/400', T, async () => {
    const huge = Buffer.concat([
      PNG_SIGNATURE,
      encodePng().subarray(8, 8 + 25), // IHDR chunk (4 + 4 + 13 + 4 bytes)
      pngChunk('tEXt', textChunkData('chara', 'AAAA'), { declaredLength: 0x7ffffff0 }),
    ]);
    await rejects(huge, 'image/png', [400, 413], 'declared huge chunk');
  });

  test('body over max_body_bytes → 413', T, async () => {
    const big = encodePng({ chunks: [pngChunk('tEXt', textChunkData('zzzz', 'x'.repeat(1100 * 1024)))] });
    const before = await allCharacters();
    // Raw socket: the server may answer before reading the whole body.
    const res = await rawHttp(ctx.server.port, [
      `POST /api/characters/import HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ${ctx.server.adminToken}\r\nContent-Type: image/png\r\nContent-Length: ${big.length}\r\n\r\n`,
      big,
    ]);
    assert.equal(res.status, 413, `expected 413, got ${res.rawResponse.slice(0, 200)}`);
    assert.equal(res.json?.error?.code, 'payload_too_large');
    assert.deepEqual(await allCharacters(), before);
  });

  test('neither PNG nor JSON → 415; JSON that is not a card → 400', T, async () => {
    await rejects(Buffer.from('hello, I am plain text'), 'text/plain', [415], 'plain text');
    await rejects(Buffer.from('{"foo":1}'), 'application/json', [400], 'not a card');
    await rejects(Buffer.from('[1,2,3]'), 'application/json', [400], 'array');
    await rejects(Buffer.from('{"spec":"chara_card_v2","data":{"description":"no name"}}'), 'application/json', [400], 'V2 without name');
    await rejects(Buffer.from('{"spec":"chara_card_v2","data":{"name":"x",'), 'application/json', [400], 'broken JSON');
  });
});
