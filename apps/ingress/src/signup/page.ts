import { CHANNEL_RULES, type SignupChannel } from '@tickercast/shared';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export interface FormState {
  channel?: string;
  number?: string;
  tickers?: readonly string[];
}

export type Notice = { kind: 'error' | 'info'; title: string; lines: readonly string[] };

export interface PageInput {
  channels: readonly SignupChannel[];
  symbols: readonly string[];
  form?: FormState;
  notice?: Notice;
}

const CSS = `
:root { --ink:#0f172a; --muted:#64748b; --line:#e2e8f0; --bg:#f1f5f9; --card:#fff; --accent:#0f766e; --accent-ink:#fff; --up:#16a34a; --err:#b91c1c; --err-bg:#fef2f2; --info-bg:#f0fdfa; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 24px 16px; background: radial-gradient(1200px 600px at 10% -10%, #ccfbf1 0, transparent 60%), var(--bg); color: var(--ink); font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { width: 100%; max-width: 460px; background: var(--card); border: 1px solid var(--line); border-radius: 16px; box-shadow: 0 10px 30px rgba(15,23,42,.08); overflow: hidden; }
header { padding: 28px 28px 8px; }
.brand { display: inline-flex; align-items: center; gap: 8px; font-weight: 700; letter-spacing: -.01em; color: var(--accent); }
.brand b { display: inline-grid; place-items: center; width: 28px; height: 28px; border-radius: 8px; background: var(--accent); color: var(--accent-ink); font-size: 14px; }
h1 { margin: 14px 0 6px; font-size: 24px; line-height: 1.25; letter-spacing: -.02em; }
.lead { margin: 0; color: var(--muted); }
form, .result { padding: 20px 28px 28px; display: grid; gap: 18px; }
label.field { display: grid; gap: 6px; font-weight: 600; font-size: 14px; }
select, input[type=tel] { width: 100%; font: inherit; font-weight: 400; padding: 11px 12px; border: 1px solid #cbd5e1; border-radius: 10px; background: #fff; color: var(--ink); }
select:focus, input:focus-visible, button:focus-visible { outline: 3px solid #99f6e4; outline-offset: 1px; border-color: var(--accent); }
.hint { font-weight: 400; color: var(--muted); font-size: 13px; }
fieldset { border: 0; margin: 0; padding: 0; display: grid; gap: 8px; }
legend { font-weight: 600; font-size: 14px; margin-bottom: 6px; padding: 0; }
.tickers { display: flex; flex-wrap: wrap; gap: 8px; }
.chip input { position: absolute; opacity: 0; width: 1px; height: 1px; }
.chip span { display: inline-block; padding: 8px 14px; border: 1px solid #cbd5e1; border-radius: 999px; font-weight: 600; font-size: 14px; letter-spacing: .02em; cursor: pointer; user-select: none; transition: background .12s, border-color .12s, color .12s; }
.chip span::before { content: "+ "; color: var(--muted); }
.chip input:checked + span { background: var(--accent); border-color: var(--accent); color: var(--accent-ink); }
.chip input:checked + span::before { content: "✓ "; color: var(--accent-ink); }
.chip input:focus-visible + span { outline: 3px solid #99f6e4; outline-offset: 1px; }
button { font: inherit; font-weight: 700; padding: 12px 16px; border: 0; border-radius: 10px; background: var(--accent); color: var(--accent-ink); cursor: pointer; }
button:hover { filter: brightness(1.08); }
.fine { margin: 0; color: var(--muted); font-size: 12px; text-align: center; }
.notice { margin: 16px 28px 0; padding: 12px 14px; border-radius: 10px; font-size: 14px; }
.notice strong { display: block; margin-bottom: 2px; }
.notice ul { margin: 4px 0 0; padding-left: 18px; }
.notice.error { background: var(--err-bg); color: var(--err); border: 1px solid #fecaca; }
.notice.info { background: var(--info-bg); color: #115e59; border: 1px solid #99f6e4; }
.result { text-align: center; justify-items: center; }
.tick { width: 56px; height: 56px; border-radius: 50%; display: grid; place-items: center; background: #dcfce7; color: var(--up); font-size: 28px; font-weight: 700; }
.result h2 { margin: 0; font-size: 22px; }
.result p { margin: 0; color: var(--muted); }
.reply { display: inline-block; padding: 2px 10px; border-radius: 6px; background: var(--ink); color: #fff; font-weight: 700; letter-spacing: .04em; }
a { color: var(--accent); font-weight: 600; }
`;

function layout(title: string, heading: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<div class="brand"><b>▲</b>tickercast</div>
${heading}
</header>
${body}
</main>
</body>
</html>
`;
}

function noticeHtml(n: Notice): string {
  const lines = n.lines.length > 1 ? `<ul>${n.lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>` : n.lines.map((l) => `<span>${escapeHtml(l)}</span>`).join('');
  return `<div class="notice ${n.kind}" role="${n.kind === 'error' ? 'alert' : 'status'}"><strong>${escapeHtml(n.title)}</strong>${lines}</div>`;
}

/** The signup form, with the person's previous input and what went wrong, if anything. */
export function signupPage(p: PageInput): string {
  const form = p.form ?? {};
  const chosen = new Set(form.tickers ?? []);
  const options = p.channels
    .map((c) => `<option value="${c}"${form.channel === c ? ' selected' : ''}>${CHANNEL_RULES[c].label}</option>`)
    .join('');
  const chips = p.symbols
    .map((s) => `<label class="chip"><input type="checkbox" name="tickers" value="${escapeHtml(s)}"${chosen.has(s) ? ' checked' : ''}><span>${escapeHtml(s)}</span></label>`)
    .join('\n');
  return layout(
    'Sign up · tickercast',
    `<h1>Live stock prices, by message</h1>
<p class="lead">Choose your tickers and where to get them. We send one message to confirm, and nothing more until you reply YES.</p>`,
    `${p.notice ? noticeHtml(p.notice) : ''}
<form method="post" action="/signup" novalidate>
<label class="field">Send updates by
<select name="channel" required>${options}</select>
</label>
<label class="field">Phone number <span class="hint">with country code, e.g. +44 7700 900123</span>
<input type="tel" name="number" inputmode="tel" autocomplete="tel" maxlength="40" required placeholder="+44 7700 900123" value="${escapeHtml(form.number ?? '')}">
</label>
<fieldset>
<legend>Tickers</legend>
<div class="tickers">
${chips}
</div>
</fieldset>
<button type="submit">Send me a confirmation</button>
<p class="fine">Reply STOP at any time to end. Message and data rates may apply.</p>
</form>`,
  );
}

/** After a valid request: what to do next. */
export function sentPage(p: { channel: SignupChannel; maskedNumber: string; symbols: readonly string[]; ttl: string }): string {
  return layout(
    'Check your phone · tickercast',
    '<h1>Almost there</h1>',
    `<div class="result" role="status">
<div class="tick">✓</div>
<h2>Check your phone and reply <span class="reply">YES</span></h2>
<p>We sent a message on ${CHANNEL_RULES[p.channel].label} to ${escapeHtml(p.maskedNumber)}. Reply YES to start getting ${escapeHtml(p.symbols.join(', '))} prices, or NO if you changed your mind.</p>
<p>Nothing else is sent until you reply. The request expires in ${escapeHtml(p.ttl)}.</p>
<a href="/signup">Sign up another number</a>
</div>`,
  );
}
