// A small line chart on <canvas>: a few series over time, y axis from 0 to a rounded maximum,
// gaps where a value is null, a dot for isolated points, "No data" when nothing is known yet.
// Accessible: the canvas is an image whose label states the latest values, and the chart's
// figure can be focused and explored with the arrow keys (Home/End jump), which moves a cursor
// and reads the values at that moment into a live region.

import { h, uniqueId } from './dom.js';

function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function cssVar(el, name, fallback) {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  return v || fallback;
}

export class LineChart {
  // series: [{ key, label, color: CSS variable name or color }], format(v) → text with unit.
  constructor({ title, series, format, emptyText = 'No data yet', height = 160 }) {
    this.title = title;
    this.series = series;
    this.format = format;
    this.emptyText = emptyText;
    this.height = height;
    this.points = [];
    this.cursor = -1;
    const id = uniqueId('chart');
    this.canvas = h('canvas', { class: 'chart-canvas', role: 'img', 'aria-label': `${title}: ${emptyText}`, height });
    this.readout = h('p', { class: 'chart-readout', id: `${id}-readout`, 'aria-live': 'polite' });
    this.legend = h('ul', { class: 'chart-legend' }, series.map((s) => h('li', null,
      h('span', { class: 'chart-swatch', 'data-color': s.color }), h('span', { text: s.label }))));
    this.el = h('figure', {
      class: 'chart', tabindex: 0, 'aria-labelledby': `${id}-title`, 'aria-describedby': `${id}-readout`,
      dataset: { chart: title },
    },
    h('figcaption', { id: `${id}-title`, class: 'chart-title', text: title }),
    this.canvas, this.legend, this.readout);
    this.el.addEventListener('keydown', (e) => this.onKey(e));
    this.el.addEventListener('blur', () => {
      this.cursor = -1;
      this.draw();
    });
    this.resizeObserver = new ResizeObserver(() => this.draw());
    this.resizeObserver.observe(this.el);
  }

  destroy() {
    this.resizeObserver.disconnect();
  }

  setPoints(points) {
    this.points = points;
    if (this.cursor >= points.length) this.cursor = points.length - 1;
    this.draw();
  }

  hasData() {
    return this.points.some((p) => this.series.some((s) => typeof p[s.key] === 'number'));
  }

  describe(p) {
    if (!p) return this.emptyText;
    const parts = [];
    for (const s of this.series) {
      const v = p[s.key];
      parts.push(`${s.label} ${typeof v === 'number' ? this.format(v) : 'no data'}`);
    }
    return parts.join(', ');
  }

  latestWithData() {
    for (let i = this.points.length - 1; i >= 0; i--) {
      if (this.series.some((s) => typeof this.points[i][s.key] === 'number')) return this.points[i];
    }
    return null;
  }

  onKey(e) {
    const n = this.points.length;
    if (!n) return;
    let c = this.cursor < 0 ? n - 1 : this.cursor;
    if (e.key === 'ArrowLeft') c = Math.max(0, c - 1);
    else if (e.key === 'ArrowRight') c = Math.min(n - 1, c + 1);
    else if (e.key === 'Home') c = 0;
    else if (e.key === 'End') c = n - 1;
    else return;
    e.preventDefault();
    this.cursor = c;
    const p = this.points[c];
    const age = Math.round((Date.now() - p.t) / 1000);
    this.readout.textContent = `${age} s ago: ${this.describe(p)}`;
    this.draw();
  }

  draw() {
    const canvas = this.canvas;
    const width = Math.max(120, Math.floor(canvas.clientWidth || this.el.clientWidth || 300));
    const height = this.height;
    const dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
      canvas.width = Math.round(width * dpr);
      canvas.height = Math.round(height * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const muted = cssVar(this.el, '--text-muted', '#666');
    const grid = cssVar(this.el, '--border', '#ddd');
    const font = `12px ${cssVar(this.el, '--font', 'sans-serif')}`;
    ctx.font = font;

    const latest = this.latestWithData();
    if (this.cursor < 0) this.readout.textContent = latest ? `Latest: ${this.describe(latest)}` : this.emptyText;
    canvas.setAttribute('aria-label', `${this.title}. ${latest ? `Latest: ${this.describe(latest)}` : this.emptyText}`);
    let drawn = 0;
    if (!latest) {
      ctx.fillStyle = muted;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(this.emptyText, width / 2, height / 2);
      canvas.dataset.points = '0';
      return;
    }

    let max = 0;
    for (const p of this.points) for (const s of this.series) if (typeof p[s.key] === 'number') max = Math.max(max, p[s.key]);
    max = niceMax(max);
    const left = 8;
    const right = width - 8;
    const top = 18;
    const bottom = height - 8;
    const n = this.points.length;
    const x = (i) => (n <= 1 ? right : left + ((right - left) * i) / (n - 1));
    const y = (v) => bottom - ((bottom - top) * v) / max;

    ctx.strokeStyle = grid;
    ctx.lineWidth = 1;
    ctx.fillStyle = muted;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'bottom';
    for (const f of [0, 0.5, 1]) {
      const yy = Math.round(y(max * f)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(left, yy);
      ctx.lineTo(right, yy);
      ctx.stroke();
    }
    ctx.fillText(this.format(max), left + 2, top - 3);

    for (const s of this.series) {
      const color = s.color.startsWith('--') ? cssVar(this.el, s.color, '#55f') : s.color;
      ctx.strokeStyle = color;
      ctx.fillStyle = color;
      ctx.lineWidth = 2;
      let open = false;
      ctx.beginPath();
      for (let i = 0; i < n; i++) {
        const v = this.points[i][s.key];
        if (typeof v !== 'number') {
          open = false;
          continue;
        }
        drawn += 1;
        const prevHas = i > 0 && typeof this.points[i - 1][s.key] === 'number';
        const nextHas = i + 1 < n && typeof this.points[i + 1][s.key] === 'number';
        if (!open) ctx.moveTo(x(i), y(v));
        else ctx.lineTo(x(i), y(v));
        open = true;
        if (!prevHas && !nextHas) ctx.fillRect(x(i) - 2, y(v) - 2, 4, 4);
      }
      ctx.stroke();
    }
    if (this.cursor >= 0 && this.cursor < n) {
      ctx.strokeStyle = muted;
      ctx.lineWidth = 1;
      ctx.setLineDash([3, 3]);
      ctx.beginPath();
      ctx.moveTo(Math.round(x(this.cursor)) + 0.5, top);
      ctx.lineTo(Math.round(x(this.cursor)) + 0.5, bottom);
      ctx.stroke();
      ctx.setLineDash([]);
    }
    canvas.dataset.points = String(drawn);
  }
}
