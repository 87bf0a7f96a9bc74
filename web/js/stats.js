// Turns two polls of GET /api/stats into dashboard figures: rates from counter differences and
// windowed percentiles from histogram bucket differences (the same estimate Prometheus'
// histogram_quantile makes: linear inside the bucket that holds the rank).

// Bucket counts observed between two cumulative histogram snapshots, or null when there is nothing
// to compare (first poll, metric missing, different buckets, or a server restart).
export function histogramDelta(prev, cur) {
  if (!prev || !cur || !Array.isArray(cur.cumulative) || !Array.isArray(prev.cumulative)) return null;
  if (prev.cumulative.length !== cur.cumulative.length || cur.count < prev.count) return null;
  if (String(prev.bounds) !== String(cur.bounds)) return null;
  return {
    bounds: cur.bounds,
    cumulative: cur.cumulative.map((c, i) => c - prev.cumulative[i]),
    count: cur.count - prev.count,
    sum: cur.sum - prev.sum,
  };
}

// q-quantile (0..1) of a histogram given by upper bounds and cumulative counts (last = +Inf).
// Null when it holds no observations.
export function quantile(hist, q) {
  if (!hist) return null;
  const cum = hist.cumulative;
  const total = cum[cum.length - 1];
  if (!total) return null;
  const rank = q * total;
  for (let i = 0; i < cum.length; i++) {
    if (cum[i] >= rank) {
      if (i >= hist.bounds.length) return hist.bounds[hist.bounds.length - 1];
      const lo = i === 0 ? 0 : hist.bounds[i - 1];
      const below = i === 0 ? 0 : cum[i - 1];
      const inBucket = cum[i] - below;
      const frac = inBucket > 0 ? (rank - below) / inBucket : 1;
      return lo + (hist.bounds[i] - lo) * frac;
    }
  }
  return hist.bounds[hist.bounds.length - 1];
}

const ms = (s) => (s === null || s === undefined ? null : s * 1000);
const mib = (b) => (typeof b === 'number' ? b / (1024 * 1024) : null);

// One dashboard sample from the previous and current stats (prev may be null: rates are then null).
export function derive(prev, cur) {
  const dt = prev ? (cur.time_ms - prev.time_ms) / 1000 : 0;
  const finished = cur.generations?.finished_total;
  const prevFinished = prev?.generations?.finished_total;
  let turnsPerSec = null;
  if (dt > 0 && typeof finished === 'number' && typeof prevFinished === 'number' && finished >= prevFinished) {
    turnsPerSec = (finished - prevFinished) / dt;
  }
  const ttft = histogramDelta(prev?.time_to_first_token, cur.time_to_first_token);
  const retrieval = histogramDelta(prev?.retrieval, cur.retrieval);
  const lag = histogramDelta(prev?.event_loop_lag, cur.event_loop_lag);
  const mem = cur.memory || {};
  return {
    t: cur.time_ms,
    turnsPerSec,
    running: cur.generations?.running ?? null,
    ttftP50: ms(quantile(ttft, 0.5)),
    ttftP95: ms(quantile(ttft, 0.95)),
    retrievalAvailable: Boolean(cur.retrieval),
    retrievalP50: ms(quantile(retrieval, 0.5)),
    retrievalP95: ms(quantile(retrieval, 0.95)),
    lagP50: ms(quantile(lag, 0.5)),
    lagP99: ms(quantile(lag, 0.99)),
    tasks: cur.tasks?.live ?? null,
    pastDeadline: cur.tasks?.past_deadline ?? null,
    rssMiB: mib(mem.rss_bytes),
    jemallocResidentMiB: mib(mem.jemalloc?.resident),
    limitMiB: mem.limit_bytes ? mib(mem.limit_bytes) : null,
    budgetState: mem.budget_state ?? null,
  };
}
