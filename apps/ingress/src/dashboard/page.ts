import { CHANNEL_RULES, CHANNELS, type Channel } from '@tickercast/shared';

/** Points on each price chart. */
export const CHART_POINTS = 60;

const LABELS = Object.fromEntries(CHANNELS.map((c) => [c, CHANNEL_RULES[c].label])) as Record<Channel, string>;

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
  #alerts { display:grid; gap:8px; padding:0 28px; } #alerts:empty { display:none; }
  .banner { background:#7f1d1d; border:1px solid var(--down); color:#fee2e2; border-radius:10px; padding:10px 14px; font-weight:600; }
  .now { display:grid; gap:12px; grid-template-columns:repeat(auto-fill,minmax(230px,1fr)); }
  .now article h3 { margin:0 0 6px; font-size:14px; }
  .now .bar { height:10px; } .now .bar > i.full { background:var(--down); }
  .now dl { display:grid; grid-template-columns:auto 1fr; gap:2px 10px; margin:8px 0 0; font-variant-numeric:tabular-nums; }
  .now dt { color:var(--muted); font-size:12px; } .now dd { margin:0; text-align:right; white-space:nowrap; }
  .now article.open { border-color:var(--down); }
</style></head>
<body>
<header class="top"><h1><span class="logo" aria-hidden="true"></span>tickercast</h1><span class="status"><span class="dot" id="dot"></span><span id="status">connecting…</span></span></header>
<div id="alerts" role="alert"></div>
<main>
  <section><h2>Channels now</h2><div class="now" id="now">${CHANNELS.map(
    (c) => `<article data-channel="${c}"><h3>${LABELS[c]}</h3>
      <div class="muted"><span data-field="rate">0.0</span> / <span data-field="limit">–</span> sends/s</div>
      <div class="bar" data-field="bar" role="meter" aria-label="${LABELS[c]} sends per second against the limit"><i></i></div>
      <dl><dt>last price</dt><dd data-field="age">–</dd><dt>backlog</dt><dd data-field="backlog">–</dd>
      <dt>429s, last min</dt><dd data-field="throttled">–</dd><dt>provider errors, last min</dt><dd data-field="errors">–</dd></dl>
    </article>`,
  ).join('')}</div></section>
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
  const LABEL = ${JSON.stringify(LABELS)};
  // Sends per second over the last few snapshots: one second alone jitters with the poll.
  const RATE_SPAN = 3;
  const recent = [];
  let unavailable;
  const age = (ms) => ms < 1000 ? 'just now' : ms < 60_000 ? Math.round(ms / 1000) + ' s ago' : ms < 3_600_000 ? Math.round(ms / 60_000) + ' min ago' : Math.round(ms / 3_600_000) + ' h ago';
  const clock = (t) => new Date(t).toLocaleTimeString();
  function banner(text) { const div = document.createElement('div'); div.className = 'banner'; div.textContent = text; return div; }
  function alerts(s) {
    const list = [];
    if (unavailable) list.push(banner('Redis unreachable since ' + clock(unavailable.since) + ': the figures below are from then (' + unavailable.reason + ')'));
    if (s) for (const c of CHANNELS) {
      const since = s.channels[c].breakerOpenSince;
      if (since) list.push(banner(LABEL[c] + ': the provider is not answering (breaker open since ' + clock(since) + '); sends rest between probes'));
    }
    document.getElementById('alerts').replaceChildren(...list);
  }
  function renderNow(s) {
    recent.push(s);
    while (recent.length > RATE_SPAN + 1) recent.shift();
    const base = recent[0], dt = (s.at - base.at) / 1000;
    for (const c of CHANNELS) {
      const n = s.channels[c], card = document.querySelector('[data-channel="' + c + '"]');
      const accepted = (x) => x.deliveries[c + ':accepted'] || 0;
      const rate = dt > 0 ? Math.max(0, (accepted(s) - accepted(base)) / dt) : 0;
      const fill = n.limit > 0 ? Math.min(1, rate / n.limit) : 0;
      card.querySelector('[data-field=rate]').textContent = rate.toFixed(1);
      card.querySelector('[data-field=limit]').textContent = fmt(n.limit);
      const bar = card.querySelector('[data-field=bar]');
      bar.setAttribute('aria-valuenow', rate.toFixed(1)); bar.setAttribute('aria-valuemax', String(n.limit));
      const i = bar.querySelector('i'); i.style.width = (fill * 100).toFixed(1) + '%'; i.className = fill >= 0.98 ? 'full' : '';
      card.querySelector('[data-field=age]').textContent = n.lastPriceSentAt ? age(Math.max(0, s.at - n.lastPriceSentAt)) : 'never';
      card.querySelector('[data-field=backlog]').textContent = fmt(n.backlog);
      card.querySelector('[data-field=throttled]').textContent = fmt(n.throttledLastMinute);
      card.querySelector('[data-field=errors]').textContent = fmt(n.providerErrorsLastMinute);
      card.className = n.breakerOpenSince ? 'open' : '';
    }
  }
  const CHART_POINTS = ${CHART_POINTS};
  const history = {};
  let previous;
  const fmt = (n) => Number(n).toLocaleString();
  function row(cells) { const tr = document.createElement('tr'); for (const c of cells) { const td = document.createElement('td'); td.textContent = c; tr.appendChild(td); } return tr; }
  function render(s) {
    unavailable = undefined;
    renderNow(s);
    alerts(s);
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
    events.addEventListener('unavailable', (e) => {
      unavailable = JSON.parse(e.data);
      alerts(previous);
      document.getElementById('status').textContent = 'Redis unreachable';
      document.getElementById('dot').className = 'dot';
    });
    events.onerror = () => { document.getElementById('status').textContent = 'reconnecting…'; document.getElementById('dot').className = 'dot'; };
  });
</script>
</body></html>`;
}
