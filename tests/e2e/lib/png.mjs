// Builds small PNG character cards in memory: an RGBA gradient image plus tEXt chunks holding the
// base64 of the card JSON ("chara" for V2, "ccv3" for V3).
import zlib from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

function image(width, height, [r, g, b]) {
  const row = 1 + width * 4;
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y++) {
    raw[y * row] = 0;
    for (let x = 0; x < width; x++) {
      const o = y * row + 1 + x * 4;
      raw[o] = (r + (x * 96) / width) & 0xff;
      raw[o + 1] = (g + (y * 96) / height) & 0xff;
      raw[o + 2] = b;
      raw[o + 3] = 255;
    }
  }
  return zlib.deflateSync(raw);
}

// `card` is the V2 card object ({spec:'chara_card_v2', spec_version:'2.0', data:{...}}).
export function cardPng(card, { width = 64, height = 64, rgb = [120, 60, 200], keyword = 'chara' } = {}) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  const text = Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]),
    Buffer.from(Buffer.from(JSON.stringify(card), 'utf8').toString('base64'), 'latin1')]);
  return Buffer.concat([
    SIGNATURE,
    chunk('IHDR', ihdr),
    chunk('tEXt', text),
    chunk('IDAT', image(width, height, rgb)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function v2Card(data) {
  return {
    spec: 'chara_card_v2',
    spec_version: '2.0',
    data: {
      name: 'Unnamed', description: '', personality: '', scenario: '', first_mes: '', mes_example: '',
      creator_notes: '', system_prompt: '', post_history_instructions: '', alternate_greetings: [],
      tags: [], creator: '', character_version: '', extensions: {},
      ...data,
    },
  };
}
