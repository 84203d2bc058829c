import { CHANNEL_RULES, CHANNELS } from '@tickercast/shared';

/** Points on each price chart. */
export const CHART_POINTS = 60;

/** The dashboard: plain HTML, CSS and a little script; no build step. */
export function dashboardPage(symbols: readonly string[]): string {
  const cards = symbols
    .map(
      (s) => `<article class="ticker" data-symbol="${s}">
        <header><h3>${s}</h3><span class="change" data-field="change">–</span></header>
        <div class="price" data-field="price">–</div>
        <svg viewBox="0 0 200 48" preserveAspectRatio="none" aria-label="${s} price chart"><polyline points="" /></svg>
      </article>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>tickercast · live</title>
<style>
  :root { --bg:#0b1020; --card:#121a2f; --line:#1f2a44; --muted:#8b9bb8; --up:#22c55e; --down:#ef4444; --accent:#60a5fa; }
  * { box-sizing:border-box; }
  body { margin:0; font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif; background:var(--bg); color:#e5e9f2; }
  header.top { display:flex; align-items:baseline; gap:12px; padding:20px 28px 8px; }
  header.top h1 { margin:0; font-size:20px; display:flex; align-items:center; gap:8px; }
  .logo { width:14px; height:14px; border-radius:4px; background:linear-gradient(135deg,var(--accent),var(--up)); } header.top .status { color:var(--muted); font-size:12px; }
  .dot { display:inline-block; width:8px; height:8px; border-radius:50%; background:var(--muted); margin-right:6px; }
  .dot.live { background:var(--up); box-shadow:0 0 8px var(--up); }
  main { padding:8px 28px 28px; display:grid; gap:20px; }
  h2 { font-size:13px; text-transform:uppercase; letter-spacing:.08em; color:var(--muted); margin:0 0 10px; }
  .grid { display:grid; gap:12px; grid-template-columns:repeat(auto-fill,minmax(190px,1fr)); }
  article, .panel { background:var(--card); border:1px solid var(--line); border-radius:14px; padding:14px; }
  .ticker header { display:flex; justify-content:space-between; align-items:center; }
  .ticker h3 { margin:0; font-size:14px; letter-spacing:.04em; }
  .price { font-size:24px; font-weight:650; margin:4px 0 6px; font-variant-numeric:tabular-nums; }
  .change { font-size:12px; font-variant-numeric:tabular-nums; color:var(--muted); }
  .change.up { color:var(--up); } .change.down { color:var(--down); }
  svg { width:100%; height:48px; } polyline { fill:none; stroke:var(--accent); stroke-width:2; vector-effect:non-scaling-stroke; }
  .cols { display:grid; gap:20px; grid-template-columns:repeat(auto-fit,minmax(360px,1fr)); }
  table { width:100%; border-collapse:collapse; font-variant-numeric:tabular-nums; }
  th, td { text-align:right; padding:6px 6px; border-bottom:1px solid var(--line); } th:first-child, td:first-child { text-align:left; }
  th { color:var(--muted); font-weight:500; font-size:12px; }
  .bar { height:6px; background:var(--line); border-radius:3px; overflow:hidden; margin-top:4px; }
  .bar > i { display:block; height:100%; background:var(--accent); width:0; transition:width .4s; }
  .num { font-size:22px; font-weight:650; font-variant-numeric:tabular-nums; }
  .muted { color:var(--muted); font-size:12px; }
</style></head>
<body>
<header class="top"><h1><span class="logo" aria-hidden="true"></span>tickercast</h1><span class="status"><span class="dot" id="dot"></span><span id="status">connecting…</span></span></header>
<main>
  <section><h2>Prices</h2><div class="grid" id="tickers">${cards}</div></section>
  <div class="cols">
    <section class="panel"><h2>Subscribers and sends</h2>
      <table id="channels"><thead><tr><th>channel</th><th>subscribers</th><th>sends/s</th><th>accepted</th></tr></thead><tbody></tbody></table>
    </section>
    <section class="panel"><h2>Delivery outcomes</h2>
      <table id="outcomes"><thead><tr><th>channel</th><th>delivered</th><th>read</th><th>rejected</th><th>undeliv.</th><th>failed</th></tr></thead><tbody></tbody></table>
    </section>
    <section class="panel"><h2>Queues</h2>
      <table id="queues"><thead><tr><th>queue</th><th>waiting</th><th>active</th><th>delayed</th><th>failed</th></tr></thead><tbody></tbody></table>
    </section>
  </div>
</main>
<script>
  const CHANNELS = ${JSON.stringify(CHANNELS)};
  const LABEL = ${JSON.stringify(Object.fromEntries(CHANNELS.map((c) => [c, CHANNEL_RULES[c].label])))};
  const CHART_POINTS = ${CHART_POINTS};
  const history = {};
  let previous;
  const fmt = (n) => Number(n).toLocaleString();
  function row(cells) { const tr = document.createElement('tr'); for (const c of cells) { const td = document.createElement('td'); td.textContent = c; tr.appendChild(td); } return tr; }
  function render(s) {
    for (const q of s.prices) {
      const card = document.querySelector('[data-symbol="' + q.symbol + '"]');
      if (!card) continue;
      const h = (history[q.symbol] ||= []);
      if (h.length === 0 || h[h.length - 1].v !== q.version) h.push({ v: q.version, p: q.price });
      if (h.length > CHART_POINTS) h.shift();
      card.querySelector('[data-field=price]').textContent = q.price.toFixed(2);
      const first = h[0].p, change = q.price - first, el = card.querySelector('[data-field=change]');
      el.textContent = (change >= 0 ? '▲ +' : '▼ ') + change.toFixed(2) + ' (' + ((change / first) * 100).toFixed(2) + '%)';
      el.className = 'change ' + (change > 0 ? 'up' : change < 0 ? 'down' : '');
      const min = Math.min(...h.map((x) => x.p)), max = Math.max(...h.map((x) => x.p)), span = max - min || 1;
      card.querySelector('polyline').setAttribute('points', h.map((x, i) => (i * 200 / Math.max(1, h.length - 1)).toFixed(1) + ',' + (46 - ((x.p - min) / span) * 44).toFixed(1)).join(' '));
    }
    const dt = previous ? (s.at - previous.at) / 1000 : 0;
    const ch = document.querySelector('#channels tbody'); ch.replaceChildren();
    const out = document.querySelector('#outcomes tbody'); out.replaceChildren();
    for (const c of CHANNELS) {
      const accepted = s.deliveries[c + ':accepted'] || 0;
      const rate = dt > 0 ? Math.max(0, (accepted - (previous.deliveries[c + ':accepted'] || 0)) / dt) : 0;
      ch.appendChild(row([LABEL[c], fmt(s.subscribers[c] || 0), rate.toFixed(1), fmt(accepted)]));
      out.appendChild(row([LABEL[c], ...['delivered', 'read', 'rejected', 'undeliverable', 'failed'].map((k) => fmt(s.deliveries[c + ':' + k] || 0))]));
    }
    const qb = document.querySelector('#queues tbody'); qb.replaceChildren();
    for (const [name, c] of Object.entries(s.queues)) qb.appendChild(row([name, fmt((c.waiting || 0) + (c.prioritized || 0)), fmt(c.active || 0), fmt(c.delayed || 0), fmt(c.failed || 0)]));
    previous = s;
    document.getElementById('status').textContent = 'live · ' + new Date(s.at).toLocaleTimeString();
    document.getElementById('dot').className = 'dot live';
  }
  // The charts start from the recent ticks kept in Redis, then follow the live snapshots.
  let events;
  fetch('/dashboard/history').then((r) => (r.ok ? r.json() : {})).catch(() => ({})).then((recent) => {
    for (const [symbol, points] of Object.entries(recent)) history[symbol] = points.map((q) => ({ v: q.version, p: q.price }));
    events = new EventSource('/dashboard/events');
    events.addEventListener('snapshot', (e) => render(JSON.parse(e.data)));
    events.onerror = () => { document.getElementById('status').textContent = 'reconnecting…'; document.getElementById('dot').className = 'dot'; };
  });
</script>
</body></html>`;
}
