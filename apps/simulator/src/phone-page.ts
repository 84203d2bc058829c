import { CHANNEL_RULES, CHANNELS, type Channel } from '@tickercast/shared';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page where a person plays a phone: pick a channel and number, type, watch the replies. */
export function phonePage(businessNumbers: Record<Channel, string>): string {
  const options = CHANNELS.map((c) => `<option value="${c}">${CHANNEL_RULES[c].label} → ${escapeHtml(businessNumbers[c])}</option>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>tickercast · phone simulator</title>
<style>
  :root { --bg:#0f172a; --card:#111827; --muted:#94a3b8; --in:#2563eb; --out:#1f2937; --accent:#22c55e; }
  * { box-sizing: border-box; }
  body { margin:0; font:15px/1.4 system-ui, -apple-system, Segoe UI, sans-serif; background:var(--bg); color:#e5e7eb;
         display:flex; justify-content:center; padding:24px; }
  main { width:100%; max-width:420px; }
  h1 { font-size:18px; margin:0 0 4px; } p.sub { color:var(--muted); margin:0 0 16px; font-size:13px; }
  .bar { display:flex; gap:8px; margin-bottom:12px; }
  select, input, button { font:inherit; border-radius:10px; border:1px solid #334155; background:#0b1220; color:inherit; padding:8px 10px; }
  input#number { flex:1; min-width:0; }
  .phone { background:var(--card); border:1px solid #1f2937; border-radius:24px; padding:16px; height:60vh; min-height:360px;
           overflow-y:auto; display:flex; flex-direction:column; gap:6px; }
  .msg { max-width:80%; padding:8px 12px; border-radius:16px; white-space:pre-wrap; word-wrap:break-word; }
  .msg.in { align-self:flex-end; background:var(--in); border-bottom-right-radius:4px; }
  .msg.out { align-self:flex-start; background:var(--out); border-bottom-left-radius:4px; }
  .msg time { display:block; font-size:11px; color:#cbd5e1; opacity:.7; margin-top:2px; }
  .empty { color:var(--muted); text-align:center; margin:auto; }
  form.compose { display:flex; gap:8px; margin-top:12px; } form.compose input { flex:1; }
  button { background:var(--accent); color:#052e16; border:none; font-weight:600; cursor:pointer; }
  #status, #window { color:var(--muted); font-size:12px; min-height:1.4em; margin-top:6px; }
  .tick { margin-left:6px; font-weight:700; letter-spacing:-2px; }
  .tick.submitted, .tick.delivered { color:#cbd5e1; } .tick.read { color:#38bdf8; }
  .tick.rejected, .tick.undeliverable { color:#f87171; letter-spacing:0; }
  .legend { color:var(--muted); font-size:12px; margin-top:4px; }
  .legend span { margin-right:10px; }
  #locked { display:flex; flex-wrap:wrap; gap:8px; margin-bottom:12px; color:var(--muted); font-size:13px; }
  #locked[hidden] { display:none; } #locked p { margin:0; flex-basis:100%; } #locked input { flex:1; }
</style></head>
<body><main>
  <h1>Phone simulator</h1>
  <p class="sub">Be a subscriber: text a ticker (e.g. <b>MSFT</b>), <b>HELP</b>, <b>LIST</b>, <b>QUIET 22-07</b> or <b>STOP</b>.</p>
  <div class="bar">
    <select id="channel" aria-label="channel">${options}</select>
    <input id="number" aria-label="your number" value="447700900123" inputmode="numeric">
    <select id="format" aria-label="how an SMS reaches tickercast" title="how an SMS reaches tickercast">
      <option value="">SMS as configured</option><option value="messages">Messages API</option><option value="sms-api:POST">SMS API (POST)</option><option value="sms-api:GET">SMS API (GET)</option>
    </select>
  </div>
  <form id="locked" hidden>
    <p>This simulator answers other machines only with its token (<code>SIMULATOR_TOKEN</code>; under Docker Compose:
    <code>docker compose exec simulator cat /run/tickercast/simulator-token</code>). Or open this page as <code>/#token=…</code>.</p>
    <input id="token" type="password" aria-label="simulator token" autocomplete="off" required><button type="submit">Unlock</button>
  </form>
  <div id="window"></div>
  <div class="phone" id="conversation" aria-live="polite"><div class="empty">No messages yet.</div></div>
  <form class="compose" id="compose">
    <input id="text" aria-label="message" placeholder="Type a message…" autocomplete="off" required>
    <button type="submit">Send</button>
  </form>
  <div id="status"></div>
  <div class="legend" id="legend"><span><b class="tick submitted">✓</b> sent</span><span><b class="tick delivered">✓✓</b> delivered</span><span><b class="tick read">✓✓</b> read</span><span><b class="tick rejected">✕</b> failed</span></div>
</main>
<script>
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  if (params.get('channel')) $('channel').value = params.get('channel');
  if (params.get('number')) $('number').value = params.get('number');
  // The control token, for a simulator reached from another machine: given once as #token=… (a fragment
  // never leaves the browser), kept for this tab only, sent as a Bearer header, never in a URL.
  const TOKEN_KEY = 'tickercast-simulator-token';
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(TOKEN_KEY, fromHash);
    history.replaceState(null, '', location.pathname + location.search);
  }
  async function sim(url, init = {}) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = { ...init.headers, ...(token && { authorization: 'Bearer ' + token }) };
    const res = await fetch(url, { ...init, headers });
    $('locked').hidden = res.status !== 401;
    return res;
  }
  $('locked').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    lastRendered = '';
    refresh();
  });
  let lastRendered = '';
  // A status tick, WhatsApp style: readable at a glance, the word in the tooltip (and spelled out on failures).
  const TICKS = { submitted: '✓', delivered: '✓✓', read: '✓✓', rejected: '✕ rejected', undeliverable: '✕ undeliverable' };
  function tick(status) {
    const span = document.createElement('span');
    span.className = 'tick ' + status;
    span.dataset.status = status;
    span.title = status;
    span.textContent = TICKS[status] || status;
    return span;
  }
  function showFormat() { $('format').style.display = $('channel').value === 'sms' ? '' : 'none'; }
  function path() { return '/_sim/phones/' + encodeURIComponent($('channel').value) + '/' + encodeURIComponent($('number').value.replace(/\\D/g, '')); }
  async function refresh() {
    try {
      const res = await sim(path());
      if (!res.ok) return;
      const { conversation, window: win } = await res.json();
      $('window').textContent = !win || !win.enforced ? '' : win.openUntil
        ? 'WhatsApp 24-hour window open until ' + new Date(win.openUntil).toLocaleString() + ': free text arrives.'
        : 'WhatsApp 24-hour window closed: only templates arrive until this phone writes.';
      const key = JSON.stringify(conversation.map((m) => [m.messageUuid, m.status]));
      if (key === lastRendered) return;
      lastRendered = key;
      const box = $('conversation');
      box.replaceChildren();
      if (conversation.length === 0) { box.innerHTML = '<div class="empty">No messages yet.</div>'; return; }
      for (const m of conversation) {
        const div = document.createElement('div');
        div.className = 'msg ' + m.direction;
        div.dataset.direction = m.direction;
        div.textContent = m.text;
        const t = document.createElement('time');
        t.textContent = new Date(m.at).toLocaleTimeString();
        if (m.direction === 'out' && m.status) t.appendChild(tick(m.status));
        div.appendChild(t);
        box.appendChild(div);
      }
      box.scrollTop = box.scrollHeight;
    } catch {}
  }
  $('compose').addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = $('text').value.trim();
    if (!text) return;
    $('text').value = '';
    const payload = { text };
    if ($('channel').value === 'sms' && $('format').value) {
      const [format, method] = $('format').value.split(':');
      payload.format = format;
      if (method) payload.method = method;
    }
    const res = await sim(path() + '/send', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
    const out = await res.json().catch(() => ({}));
    $('status').textContent = res.ok ? (out.webhook === 200 ? 'Delivered to tickercast.' : 'tickercast answered: ' + out.webhook) : (out.error || 'Could not send');
    refresh();
  });
  for (const id of ['channel', 'number']) $(id).addEventListener('change', () => { lastRendered = ''; showFormat(); refresh(); });
  showFormat();
  setInterval(refresh, 1000);
  refresh();
</script>
</body></html>`;
}
