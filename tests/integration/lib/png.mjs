// Minimal PNG writer/reader for character-card tests: builds tiny RGBA images carrying tEXt
// chunks and walks the chunks of PNGs the server returns. No pixel decoding beyond IDAT inflate.
import zlib from 'node:zlib';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

// CRC-32 (ISO-HDLC, as used by PNG and zlib) over one or more buffers.
export function crc32(...bufs) {
  let c = 0xffffffff;
  for (const buf of bufs) {
    for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

// One chunk: length, type, data, CRC over type+data. `opts.badCrc` flips the CRC;
// `opts.declaredLength` lies about the length (for hostile inputs).
export function pngChunk(type, data, opts = {}) {
  const typeBuf = Buffer.from(type, 'latin1');
  if (typeBuf.length !== 4) throw new Error(`chunk type must be 4 bytes: ${type}`);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(opts.declaredLength ?? data.length);
  const crc = Buffer.alloc(4);
  let value = crc32(typeBuf, data);
  if (opts.badCrc) value = (value ^ 0xdeadbeef) >>> 0;
  crc.writeUInt32BE(value);
  return Buffer.concat([len, typeBuf, data, crc]);
}

export function textChunkData(keyword, text) {
  return Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]);
}

// A card chunk: tEXt with `keyword` and the base64 of the JSON text (passed as a string so the
// exact bytes are under the test's control).
export function cardTextChunk(keyword, jsonText, opts = {}) {
  return pngChunk('tEXt', textChunkData(keyword, Buffer.from(jsonText, 'utf8').toString('base64')), opts);
}

function ihdr(width, height) {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(width, 0);
  d.writeUInt32BE(height, 4);
  d[8] = 8; // bit depth
  d[9] = 6; // RGBA
  d[10] = 0; // deflate
  d[11] = 0; // adaptive filtering
  d[12] = 0; // no interlace
  return d;
}

function idat(width, height, rgba) {
  const row = 1 + width * 4;
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y++) {
    raw[y * row] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const o = y * row + 1 + x * 4;
      raw[o] = (rgba[0] + x * 40) & 0xff;
      raw[o + 1] = (rgba[1] + y * 40) & 0xff;
      raw[o + 2] = rgba[2];
      raw[o + 3] = rgba[3];
    }
  }
  return zlib.deflateSync(raw);
}

// Builds a PNG. `chunks` are extra encoded chunks (e.g. from cardTextChunk) placed after IHDR.
export function encodePng({ width = 2, height = 2, rgba = [200, 80, 40, 255], chunks = [] } = {}) {
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr(width, height)),
    ...chunks,
    pngChunk('IDAT', idat(width, height, rgba)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

// Walks a PNG's chunks. Throws on a bad signature or truncation; reports each chunk's CRC validity.
export function readPngChunks(buf) {
  if (buf.length < 8 || !buf.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('not a PNG (bad signature)');
  const chunks = [];
  let off = 8;
  while (off < buf.length) {
    if (off + 12 > buf.length) throw new Error(`truncated chunk header at ${off}`);
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    if (off + 12 + len > buf.length) throw new Error(`truncated ${type} chunk at ${off}`);
    const data = buf.subarray(off + 8, off + 8 + len);
    const crc = buf.readUInt32BE(off + 8 + len);
    chunks.push({ type, data, crc, crcOk: crc === crc32(buf.subarray(off + 4, off + 8), data) });
    off += 12 + len;
    if (type === 'IEND') break;
  }
  return chunks;
}

export function pngSize(buf) {
  const chunks = readPngChunks(buf);
  if (chunks[0]?.type !== 'IHDR') throw new Error('first chunk is not IHDR');
  return { width: chunks[0].data.readUInt32BE(0), height: chunks[0].data.readUInt32BE(4) };
}

// Returns {keyword: text} for every tEXt chunk.
export function pngTextChunks(buf) {
  const out = {};
  for (const c of readPngChunks(buf)) {
    if (c.type !== 'tEXt') continue;
    const nul = c.data.indexOf(0);
    if (nul < 0) continue;
    out[c.data.toString('latin1', 0, nul)] = c.data.toString('latin1', nul + 1);
  }
  return out;
}

// Decodes the base64 payload of a card chunk into its JSON text (exact bytes as UTF-8).
export function decodeCardChunk(text) {
  return Buffer.from(text, 'base64').toString('utf8');
}
