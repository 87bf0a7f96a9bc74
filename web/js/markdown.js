// A deliberately tiny Markdown subset for chat messages, built from DOM nodes and text nodes only
// (never innerHTML), so any markup inside card or model text stays visible text.
//
// Blocks: ``` fenced code blocks (an unclosed fence runs to the end — handy while streaming),
// paragraphs separated by blank lines, single newlines become <br>.
// Inline: `code`, **bold**, *action* / _italic_ (em), "dialogue" (highlighted, quotes kept).

const FENCE = /```([^\n`]*)\n?([\s\S]*?)(?:```|$)/g;

// One alternation; group numbers: 1-2 code, 3 bold, 4 star-italic, 5 underscore-italic,
// 6 straight-quoted dialogue, 7 curly-quoted dialogue.
const INLINE = /(`+)([^`][\s\S]*?)\1(?!`)|\*\*(?=\S)([\s\S]*?\S)\*\*(?!\*)|\*(?=[^\s*])([^*]*?[^\s*])\*|(?<![\p{L}\p{N}_])_(?=\S)([^_]*?\S)_(?![\p{L}\p{N}_])|"([^"\n]+)"|“([^”\n]+)”/gu;

function appendInline(parent, text, depth = 0) {
  if (!text) return;
  if (depth > 6) {
    parent.appendChild(document.createTextNode(text));
    return;
  }
  const re = new RegExp(INLINE.source, INLINE.flags);
  let last = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m.index > last) appendLines(parent, text.slice(last, m.index));
    let el;
    if (m[1] !== undefined) {
      el = document.createElement('code');
      el.textContent = m[2];
    } else if (m[3] !== undefined) {
      el = document.createElement('strong');
      appendInline(el, m[3], depth + 1);
    } else if (m[4] !== undefined) {
      el = document.createElement('em');
      el.className = 'action';
      appendInline(el, m[4], depth + 1);
    } else if (m[5] !== undefined) {
      el = document.createElement('em');
      appendInline(el, m[5], depth + 1);
    } else {
      const open = m[6] !== undefined ? '"' : '“';
      const close = m[6] !== undefined ? '"' : '”';
      el = document.createElement('span');
      el.className = 'dialogue';
      el.appendChild(document.createTextNode(open));
      appendInline(el, m[6] ?? m[7], depth + 1);
      el.appendChild(document.createTextNode(close));
    }
    parent.appendChild(el);
    last = re.lastIndex;
  }
  if (last < text.length) appendLines(parent, text.slice(last));
}

// Plain text with single newlines turned into <br>.
function appendLines(parent, text) {
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (i > 0) parent.appendChild(document.createElement('br'));
    if (line) parent.appendChild(document.createTextNode(line));
  });
}

function appendParagraphs(parent, text) {
  const normalized = text.replace(/\r\n?/g, '\n');
  for (const block of normalized.split(/\n[ \t]*\n+/)) {
    const trimmed = block.replace(/^\n+|\n+$/g, '');
    if (!trimmed.trim()) continue;
    const p = document.createElement('p');
    appendInline(p, trimmed);
    parent.appendChild(p);
  }
}

// Returns a DocumentFragment for `text`.
export function renderMarkdown(text) {
  const frag = document.createDocumentFragment();
  const source = String(text ?? '');
  const re = new RegExp(FENCE.source, FENCE.flags);
  let last = 0;
  let m;
  while ((m = re.exec(source)) !== null) {
    if (m[0] === '') {
      re.lastIndex += 1;
      continue;
    }
    appendParagraphs(frag, source.slice(last, m.index));
    const pre = document.createElement('pre');
    const code = document.createElement('code');
    const lang = m[1].trim();
    if (lang) code.dataset.lang = lang;
    code.textContent = m[2].replace(/\n$/, '');
    pre.appendChild(code);
    frag.appendChild(pre);
    last = m.index + m[0].length;
  }
  appendParagraphs(frag, source.slice(last));
  return frag;
}

// Replaces the children of `el` with the rendered text.
export function renderInto(el, text) {
  el.replaceChildren(renderMarkdown(text));
}
