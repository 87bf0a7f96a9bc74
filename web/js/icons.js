// Small stroke icons (24x24, currentColor) built with createElementNS.

const NS = 'http://www.w3.org/2000/svg';

const SHAPES = {
  left: [['path', { d: 'M15 5l-7 7 7 7' }]],
  right: [['path', { d: 'M9 5l7 7-7 7' }]],
  regenerate: [['path', { d: 'M19.5 12a7.5 7.5 0 1 1-2.2-5.3' }], ['path', { d: 'M19.5 4.5v4h-4' }]],
  continue: [['path', { d: 'M4 12h13' }], ['path', { d: 'M12 6l6 6-6 6' }], ['path', { d: 'M21 5v14' }]],
  edit: [['path', { d: 'M4 20h4L19.5 8.5a2.1 2.1 0 0 0-3-3L5 17z' }], ['path', { d: 'M14.5 7.5l2 2' }]],
  trash: [['path', { d: 'M4 7h16' }], ['path', { d: 'M9.5 7V4.5h5V7' }], ['path', { d: 'M6.5 7l1 13h9l1-13' }]],
  branch: [['circle', { cx: 7, cy: 5, r: 2 }], ['circle', { cx: 7, cy: 19, r: 2 }], ['circle', { cx: 17, cy: 7, r: 2 }],
    ['path', { d: 'M7 7v10' }], ['path', { d: 'M17 9c0 4-3 5-6 5H7' }]],
  stop: [['rect', { x: 6, y: 6, width: 12, height: 12, rx: 2 }]],
  send: [['path', { d: 'M4 12l16-8-5.5 16-3-6.5z' }], ['path', { d: 'M11.5 13.5L20 4' }]],
  menu: [['path', { d: 'M4 7h16' }], ['path', { d: 'M4 12h16' }], ['path', { d: 'M4 17h16' }]],
  memory: [['circle', { cx: 12, cy: 12, r: 8.5 }], ['path', { d: 'M12 7.5V12l3 2' }], ['path', { d: 'M3.5 12H2' }]],
  close: [['path', { d: 'M6 6l12 12' }], ['path', { d: 'M18 6L6 18' }]],
};

export function icon(name, { size = 18 } = {}) {
  const svg = document.createElementNS(NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('fill', 'none');
  svg.setAttribute('stroke', 'currentColor');
  svg.setAttribute('stroke-width', '2');
  svg.setAttribute('stroke-linecap', 'round');
  svg.setAttribute('stroke-linejoin', 'round');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', 'icon');
  for (const [tag, attrs] of SHAPES[name] || []) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    svg.appendChild(el);
  }
  return svg;
}
