// Dashboard: live charts of the server's own metrics, polled from GET /api/stats. Rates and
// percentiles are computed per poll interval (js/stats.js); the last few minutes stay in memory.

import { h, toast } from '../dom.js';
import { LineChart } from '../chart.js';
import { derive } from '../stats.js';

const KEEP = 180;
const BUDGET_STATES = ['normal', 'above soft mark (trimming)', 'above hard mark (refusing new work)'];

const fmtRate = (v) => `${v < 10 ? v.toFixed(2) : v.toFixed(1)}/s`;
const fmtMs = (v) => (v < 10 ? `${v.toFixed(2)} ms` : `${Math.round(v)} ms`);
const fmtCount = (v) => String(Math.round(v));
const fmtMiB = (v) => `${v < 100 ? v.toFixed(1) : Math.round(v)} MiB`;

function tile(label, key, format) {
  const value = h('span', { class: 'tile-value', text: '–' });
  return {
    key,
    format,
    value,
    el: h('div', { class: 'tile', role: 'group', 'aria-label': label, dataset: { tile: key } },
      h('span', { class: 'tile-label', text: label }), value),
  };
}

export function mount(container, app) {
  document.title = 'Dashboard · Troupe';
  let intervalMs = 1000;
  let paused = false;
  let timer = null;
  let destroyed = false;
  let prev = null;
  let failures = 0;
  const samples = [];

  const charts = [
    new LineChart({ title: 'Turns per second', format: fmtRate, series: [{ key: 'turnsPerSec', label: 'finished replies', color: '--accent' }] }),
    new LineChart({
      title: 'Time to first token', format: fmtMs, emptyText: 'No replies in this window',
      series: [{ key: 'ttftP50', label: 'median', color: '--accent' }, { key: 'ttftP95', label: '95th percentile', color: '--warn' }],
    }),
    new LineChart({
      title: 'Memory retrieval latency', format: fmtMs, emptyText: 'No data: this server reports no retrieval metric yet',
      series: [{ key: 'retrievalP50', label: 'median', color: '--accent' }, { key: 'retrievalP95', label: '95th percentile', color: '--warn' }],
    }),
    new LineChart({
      title: 'Event-loop lag', format: fmtMs,
      series: [{ key: 'lagP50', label: 'median', color: '--accent' }, { key: 'lagP99', label: '99th percentile', color: '--danger' }],
    }),
    new LineChart({
      title: 'Live tasks', format: fmtCount,
      series: [{ key: 'tasks', label: 'live', color: '--accent' }, { key: 'pastDeadline', label: 'past deadline', color: '--danger' }],
    }),
    new LineChart({
      title: 'Memory', format: fmtMiB,
      series: [{ key: 'rssMiB', label: 'resident (RSS)', color: '--accent' }, { key: 'jemallocResidentMiB', label: 'jemalloc resident', color: '--ok' },
        { key: 'limitMiB', label: 'limit', color: '--danger' }],
    }),
  ];
  const retrievalChart = charts[2];

  const tiles = [
    tile('Turns/s', 'turnsPerSec', fmtRate),
    tile('Replies running', 'running', fmtCount),
    tile('First token p95', 'ttftP95', fmtMs),
    tile('Loop lag p99', 'lagP99', fmtMs),
    tile('Live tasks', 'tasks', fmtCount),
    tile('RSS', 'rssMiB', fmtMiB),
  ];

  const status = h('p', { class: 'muted dash-status', role: 'status', text: 'Connecting…' });
  const pauseBtn = h('button', { type: 'button', class: 'btn', 'aria-pressed': 'false', text: 'Pause' });
  const rate = h('select', { id: 'dash-interval' },
    [1000, 2000, 5000].map((v) => h('option', { value: String(v), selected: v === intervalMs, text: `every ${v / 1000} s` })));

  pauseBtn.addEventListener('click', () => {
    paused = !paused;
    pauseBtn.textContent = paused ? 'Resume' : 'Pause';
    pauseBtn.setAttribute('aria-pressed', String(paused));
    if (!paused) schedule(0);
  });
  rate.addEventListener('change', () => {
    intervalMs = Number(rate.value);
    schedule(intervalMs);
  });

  container.appendChild(h('section', { class: 'page dashboard-page' },
    h('div', { class: 'page-head' },
      h('h1', { text: 'Dashboard' }),
      h('div', { class: 'page-actions dash-controls' },
        h('label', { for: 'dash-interval', class: 'muted', text: 'Refresh' }), rate, pauseBtn)),
    status,
    h('div', { class: 'tiles' }, tiles.map((t) => t.el)),
    h('p', { class: 'muted hint', text: 'Focus a chart and use the arrow keys to read earlier values.' }),
    h('div', { class: 'charts' }, charts.map((c) => c.el))));

  function render() {
    const latest = samples.at(-1);
    for (const t of tiles) {
      let v = null;
      for (let i = samples.length - 1; i >= 0 && v === null; i--) {
        const x = samples[i][t.key];
        if (typeof x === 'number') v = x;
      }
      t.value.textContent = v === null ? '–' : t.format(v);
    }
    for (const c of charts) c.setPoints(samples);
    if (latest) {
      retrievalChart.emptyText = latest.retrievalAvailable ? 'No retrievals in this window' : 'No data: this server reports no retrieval metric yet';
      const budget = latest.budgetState === null ? '' : ` · memory budget: ${BUDGET_STATES[latest.budgetState] || 'unknown'}`;
      status.textContent = `Updated ${new Date(latest.t).toLocaleTimeString()}${budget}`;
    }
  }

  async function poll() {
    if (destroyed || paused) return;
    if (!document.hidden) {
      try {
        const cur = await app.api.json('GET', '/api/stats');
        if (destroyed) return;
        samples.push(derive(prev, cur));
        if (samples.length > KEEP) samples.splice(0, samples.length - KEEP);
        prev = cur;
        failures = 0;
        render();
      } catch (e) {
        if (destroyed) return;
        failures += 1;
        status.textContent = `Cannot load the figures: ${e.message}`;
        if (failures === 3) toast('The dashboard cannot reach the server; it keeps trying.', 'error');
      }
    }
    schedule(intervalMs);
  }

  function schedule(ms) {
    clearTimeout(timer);
    if (!destroyed && !paused) timer = setTimeout(poll, ms);
  }

  render();
  schedule(0);
  app.focusHeading();
  return {
    destroy() {
      destroyed = true;
      clearTimeout(timer);
      for (const c of charts) c.destroy();
    },
  };
}
