import { Worker } from 'bullmq';
import type { InjectOptions } from 'fastify';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeliveryLog, FEED_PRIORITY, fanoutJobSchema, PriceCache, QUEUE, SubscriptionStore } from '@tickercast/shared';
import { createFanoutProcessor } from '../../dispatcher/src/fanout.ts';
import { testRedis } from '../../../test/support/redis.ts';
import { testIngress, type TestIngress } from './helpers.ts';

const TOKEN = 'admin-token-0123456789abcdef';
const t = testRedis();
let ing: TestIngress;
let store: SubscriptionStore;
afterAll(() => t.cleanup());

const bearer = { authorization: `Bearer ${TOKEN}` };
const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` });
const api = (method: InjectOptions['method'], url: string, payload?: object) =>
  ing.app.inject({ method, url: `/admin/api${url}`, headers: bearer, ...(payload && { payload }) });
const enc = encodeURIComponent;

describe('admin auth', () => {
  afterEach(() => ing.close());

  const SURFACES = ['/admin/api/subscribers', '/admin/queues', '/admin/queues/api/queues'];

  it.each(SURFACES)('%s: no credentials is 401, wrong is 401, the token is 200', async (url) => {
    ing = await testIngress(t, { adminToken: TOKEN });
    const none = await ing.app.inject({ method: 'GET', url });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: 'unauthorized', reason: 'missing credentials' });
    for (const headers of [{ authorization: 'Bearer wrong-token-0123456789abcdef' }, { authorization: `Bearer ${TOKEN}x` }, basic('admin', 'nope'), { authorization: 'Token abc' }]) {
      expect((await ing.app.inject({ method: 'GET', url, headers })).statusCode, JSON.stringify(headers)).toBe(401);
    }
    expect((await ing.app.inject({ method: 'GET', url, headers: bearer })).statusCode).toBe(200);
  });

  it('Bull Board asks a browser to log in, and takes Basic with the token as password, any user name', async () => {
    ing = await testIngress(t, { adminToken: TOKEN });
    const res = await ing.app.inject({ method: 'GET', url: '/admin/queues' });
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Basic realm="tickercast"/);
    for (const user of ['admin', 'anyone', '']) {
      const ok = await ing.app.inject({ method: 'GET', url: '/admin/queues', headers: basic(user, TOKEN) });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['content-type']).toMatch(/text\/html/);
    }
  });

  it('the admin API answers 401 with a Bearer challenge', async () => {
    ing = await testIngress(t, { adminToken: TOKEN });
    const res = await ing.app.inject({ method: 'GET', url: '/admin/api/subscribers' });
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="tickercast"/);
    // Basic with the token works here too.
    expect((await ing.app.inject({ method: 'GET', url: '/admin/api/subscribers', headers: basic('ops', TOKEN) })).statusCode).toBe(200);
  });

  it('an unknown admin API route is 401 without credentials and 404 with them', async () => {
    ing = await testIngress(t, { adminToken: TOKEN });
    expect((await ing.app.inject({ method: 'GET', url: '/admin/api/nothing' })).statusCode).toBe(401);
    expect((await ing.app.inject({ method: 'GET', url: '/admin/api/nothing', headers: bearer })).statusCode).toBe(404);
  });

  it('without ADMIN_TOKEN every admin surface is 404, whatever the credentials', async () => {
    ing = await testIngress(t);
    for (const url of [...SURFACES, '/admin/api/subscribers/sms%3A447700900123']) {
      for (const headers of [{}, bearer, basic('admin', TOKEN)]) {
        expect((await ing.app.inject({ method: 'GET', url, headers })).statusCode, url).toBe(404);
      }
    }
    expect((await ing.app.inject({ method: 'POST', url: '/admin/api/broadcast', headers: bearer, payload: { symbol: 'MSFT', text: 'hi' } })).statusCode).toBe(404);
  });
});

describe('Bull Board', () => {
  afterEach(() => ing.close());

  it('lists every queue', async () => {
    ing = await testIngress(t, { adminToken: TOKEN });
    const res = await ing.app.inject({ method: 'GET', url: '/admin/queues/api/queues', headers: bearer });
    expect(res.statusCode).toBe(200);
    const names = (res.json() as { queues: { name: string }[] }).queues.map((q) => q.name).sort();
    expect(names).toEqual(ing.queues.all().map((q) => q.name).sort());
  });
});

describe('price history', () => {
  afterEach(() => ing.close());

  it('GET /prices/:symbol/history: the last ticks, oldest first, with times; 404 for a symbol not on offer', async () => {
    ing = await testIngress(t, { adminToken: TOKEN, symbols: ['MSFT', 'GOOGL'] });
    const prices = new PriceCache(t.redis, ing.keys);
    for (let i = 1; i <= 5; i++) await prices.set('MSFT', 400 + i, Date.UTC(2026, 11, 2, 12, 0, i));
    const res = await api('GET', '/prices/msft/history?limit=3');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      symbol: 'MSFT',
      points: [
        { price: 403, version: 3, tickedAt: '2026-12-02T12:00:03.000Z' },
        { price: 404, version: 4, tickedAt: '2026-12-02T12:00:04.000Z' },
        { price: 405, version: 5, tickedAt: '2026-12-02T12:00:05.000Z' },
      ],
    });
    expect((await api('GET', '/prices/GOOGL/history')).json()).toEqual({ symbol: 'GOOGL', points: [] });
    expect((await api('GET', '/prices/TSLA/history')).statusCode).toBe(404);
    expect((await api('GET', '/prices/MSFT/history?limit=0')).statusCode).toBe(400);
    expect((await ing.app.inject({ method: 'GET', url: '/admin/api/prices/MSFT/history' })).statusCode).toBe(401);
  });
});

describe('logging a browser in with ?token= (the address npm start prints)', () => {
  afterEach(() => ing.close());

  it('the right token sets an HttpOnly, SameSite=Strict session cookie (not the token) and sends the browser on without it', async () => {
    ing = await testIngress(t, { adminToken: TOKEN });
    const res = await ing.app.inject({ method: 'GET', url: `/admin/queues?token=${TOKEN}` });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/admin/queues');
    const cookie = String(res.headers['set-cookie']);
    expect(cookie).toMatch(/^tickercast_admin=[\w-]+; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(';')[0]!;
    for (const url of ['/admin/queues', '/admin/queues/api/queues', '/admin/api/subscribers', '/', '/dashboard/snapshot', '/metrics']) {
      expect((await ing.app.inject({ method: 'GET', url, headers: { cookie: session } })).statusCode, url).toBe(200);
    }
    // Other parameters survive the redirect.
    expect((await ing.app.inject({ method: 'GET', url: `/admin/api/subscribers?limit=5&token=${TOKEN}` })).headers.location).toBe('/admin/api/subscribers?limit=5');
  });

  it('a wrong token or a forged cookie logs nobody in; the token is never taken on a webhook or by POST', async () => {
    ing = await testIngress(t, { adminToken: TOKEN });
    const wrong = await ing.app.inject({ method: 'GET', url: '/admin/queues?token=wrong-token-0123456789abcdef' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect((await ing.app.inject({ method: 'GET', url: '/admin/queues', headers: { cookie: `tickercast_admin=${TOKEN}` } })).statusCode).toBe(401);
    expect((await ing.app.inject({ method: 'GET', url: '/admin/queues', headers: { cookie: 'tickercast_admin=forged' } })).statusCode).toBe(401);
    const webhook = await ing.app.inject({ method: 'GET', url: `/webhooks/delivery-receipt?token=${TOKEN}` });
    expect(webhook.headers['set-cookie']).toBeUndefined();
    const post = await ing.app.inject({ method: 'POST', url: `/admin/api/broadcast?token=${TOKEN}`, payload: { symbol: 'MSFT', text: 'x' } });
    expect(post.statusCode).toBe(401);
  });
});

describe('cross-site requests (CSRF) with the browser\'s cached credentials', () => {
  afterEach(() => ing.close());

  // What a page elsewhere can make a logged-in browser send: a form post, Basic credentials attached.
  const formPost = (url: string, headers: Record<string, string>) =>
    ing.app.inject({
      method: 'POST',
      url,
      payload: 'name=evil&data=%7B%7D',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...basic('admin', TOKEN), ...headers },
    });

  it('Bull Board\'s add-job route refuses a form posted from another site (403) and adds nothing', async () => {
    ing = await testIngress(t, { adminToken: TOKEN, publicUrl: 'https://ops.example.com' });
    const attempts: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { referer: 'https://evil.example/page.html' },
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'null' },
    ];
    for (const headers of attempts) {
      const res = await formPost('/admin/queues/api/queues/inbound/add', headers);
      expect(res.statusCode, JSON.stringify(headers)).toBe(403);
      expect(res.json()).toEqual({ error: 'forbidden', reason: 'a request from another site' });
    }
    expect(await ing.totalJobs()).toBe(0);
  });

  it('the same request from our own page (Origin: PUBLIC_URL, or the host itself) or from a tool with no Origin goes through', async () => {
    ing = await testIngress(t, { adminToken: TOKEN, publicUrl: 'https://ops.example.com' });
    expect((await formPost('/admin/queues/api/queues/inbound/add', { origin: 'https://ops.example.com', 'sec-fetch-site': 'same-origin' })).statusCode).toBe(200);
    expect((await formPost('/admin/queues/api/queues/inbound/add', { origin: 'http://localhost:80' })).statusCode).toBe(200);
    expect((await formPost('/admin/queues/api/queues/inbound/add', {})).statusCode).toBe(200);
    expect(await ing.queues.inbound.count()).toBe(3);
  });

  it('the admin API refuses a change from another site too; reads stay open to the token', async () => {
    ing = await testIngress(t, { adminToken: TOKEN, symbols: ['MSFT'] });
    const evil = { origin: 'https://evil.example' };
    const post = await ing.app.inject({ method: 'POST', url: '/admin/api/broadcast', headers: { ...basic('admin', TOKEN), ...evil }, payload: { symbol: 'MSFT', text: 'hi' } });
    expect(post.statusCode).toBe(403);
    const del = await ing.app.inject({ method: 'DELETE', url: '/admin/api/subscribers/sms%3A447700900123', headers: { ...bearer, ...evil } });
    expect(del.statusCode).toBe(403);
    expect((await ing.app.inject({ method: 'GET', url: '/admin/api/subscribers', headers: { ...basic('admin', TOKEN), ...evil } })).statusCode).toBe(200);
    expect(await ing.totalJobs()).toBe(0);
  });
});

/** The dispatchers' fan-out, for the broadcasts this file queues: a real worker until the fan-out queue is empty. */
async function fanOut(): Promise<void> {
  const process = createFanoutProcessor({ store: new SubscriptionStore(t.redis, ing.keys), queues: ing.queues, wake: async () => undefined, pageSize: 500 });
  const worker = new Worker(QUEUE.fanout, async (job) => process(fanoutJobSchema.parse(job.data)), { connection: t.redis, prefix: ing.keys.queuePrefix(QUEUE.fanout) });
  try {
    for (;;) {
      const c = await ing.queues.fanout.getJobCounts('waiting', 'active', 'prioritized', 'delayed');
      if (Object.values(c).every((n) => n === 0)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await worker.close();
  }
}

describe('admin API', () => {
  beforeEach(async () => {
    ing = await testIngress(t, { adminToken: TOKEN, symbols: ['MSFT', 'GOOGL', 'AAPL'] });
    store = new SubscriptionStore(t.redis, ing.keys);
  });
  afterEach(() => ing.close());

  it('GET /subscribers lists subscribers with their numbers masked', async () => {
    await store.subscribe('sms', '447700900123', ['MSFT']);
    await store.subscribe('whatsapp', '447700900456', ['GOOGL', 'MSFT']);
    const res = await api('GET', '/subscribers');
    expect(res.statusCode).toBe(200);
    const body = res.json() as { subscribers: { id: string; address: string; channel: string; symbols: string[]; status: string }[]; cursor: string | null };
    expect(body.cursor).toBeNull();
    expect(body.subscribers.map((s) => s.id).sort()).toEqual(['sms:********0123', 'whatsapp:********0456']);
    expect(res.body).not.toContain('447700900123');
    expect(res.body).not.toContain('447700900456');
    expect(body.subscribers.find((s) => s.channel === 'whatsapp')).toMatchObject({ address: '********0456', symbols: ['GOOGL', 'MSFT'], status: 'active' });
  });

  it('GET /subscribers filters by channel and by symbol', async () => {
    await store.subscribe('sms', '447700900123', ['MSFT']);
    await store.subscribe('sms', '447700900124', ['GOOGL']);
    await store.subscribe('viber_service', '447700900125', ['MSFT']);
    const ids = async (q: string) => ((await api('GET', `/subscribers?${q}`)).json() as { subscribers: { id: string }[] }).subscribers.map((s) => s.id).sort();
    expect(await ids('channel=sms')).toEqual(['sms:********0123', 'sms:********0124']);
    expect(await ids('symbol=msft')).toEqual(['sms:********0123', 'viber_service:********0125']);
    expect(await ids('channel=viber_service&symbol=MSFT')).toEqual(['viber_service:********0125']);
    expect(await ids('symbol=AAPL')).toEqual([]);
  });

  it('GET /subscribers pages with a cursor until it is null, and sees everyone once', async () => {
    for (let i = 0; i < 300; i++) await store.subscribe('sms', `4477009${String(i).padStart(5, '0')}`, ['MSFT']);
    const seen: string[] = [];
    let cursor: string | null = '0';
    let pages = 0;
    while (cursor !== null) {
      const res = await api('GET', `/subscribers?limit=40&cursor=${cursor}`);
      expect(res.statusCode).toBe(200);
      const body = res.json() as { subscribers: { address: string }[]; cursor: string | null };
      seen.push(...body.subscribers.map((s) => s.address));
      cursor = body.cursor;
      pages++;
    }
    expect(pages).toBeGreaterThan(1);
    expect(seen).toHaveLength(300);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['channel=fax', 'channel'],
    ['cursor=abc', 'cursor'],
    ['symbol=$$$', 'symbol'],
    ['colour=red', ''],
  ])('GET /subscribers?%s is a 400 naming the problem', async (q, path) => {
    const res = await api('GET', `/subscribers?${q}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid query' });
    expect(res.json().issues[0].path).toBe(path);
  });

  it('GET /subscribers/:id takes channel:address URL-encoded, normalizes the number, masks it', async () => {
    await store.subscribe('whatsapp', '447700900456', ['MSFT']);
    for (const id of ['whatsapp:447700900456', 'whatsapp:+447700900456', 'whatsapp:00447700900456']) {
      const res = await api('GET', `/subscribers/${enc(id)}`);
      expect(res.statusCode, id).toBe(200);
      expect(res.json()).toMatchObject({ id: 'whatsapp:********0456', channel: 'whatsapp', symbols: ['MSFT'], status: 'active' });
    }
    expect((await api('GET', `/subscribers/${enc('sms:447700900456')}`)).statusCode).toBe(404);
    for (const bad of ['447700900456', 'fax:447700900456', 'sms:hello', 'messenger:12ab']) {
      const res = await api('GET', `/subscribers/${enc(bad)}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error).toBe('invalid subscriber id');
    }
  });

  it('POST /subscribers subscribes (201), again adds symbols (200), and validates everything', async () => {
    const created = await api('POST', '/subscribers', { channel: 'sms', address: '+44 7700 900123'.replace(/ /g, ''), symbols: ['msft'] });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ id: 'sms:********0123', symbols: ['MSFT'], status: 'active' });
    expect(await store.isSubscribed('sms:447700900123', 'MSFT')).toBe(true);

    const again = await api('POST', '/subscribers', { channel: 'sms', address: '447700900123', symbols: ['GOOGL'] });
    expect(again.statusCode).toBe(200);
    expect(again.json().symbols).toEqual(['GOOGL', 'MSFT']);

    const messenger = await api('POST', '/subscribers', { channel: 'messenger', address: '4567890123456789', symbols: ['AAPL'] });
    expect(messenger.statusCode).toBe(201);

    for (const [body, path] of [
      [{ channel: 'sms', address: 'not-a-number', symbols: ['MSFT'] }, 'address'],
      [{ channel: 'sms', address: '447700900123', symbols: ['TSLA'] }, 'symbols'],
      [{ channel: 'sms', address: '447700900123', symbols: [] }, 'symbols'],
      [{ channel: 'fax', address: '447700900123', symbols: ['MSFT'] }, 'channel'],
      [{ channel: 'sms', symbols: ['MSFT'] }, 'address'],
      [{ channel: 'sms', address: '447700900123', symbols: ['MSFT'], admin: true }, ''],
    ] as const) {
      const res = await api('POST', '/subscribers', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error).toBe('invalid subscription');
      expect(res.json().issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    const notJson = await ing.app.inject({ method: 'POST', url: '/admin/api/subscribers', headers: { ...bearer, 'content-type': 'application/json' }, payload: '{"channel":' });
    expect(notJson.statusCode).toBe(400);
    expect(await store.get('sms:447700900124')).toBeUndefined();
  });

  it('DELETE /subscribers/:id stops them: fan-out no longer reaches them', async () => {
    await store.subscribe('sms', '447700900123', ['MSFT', 'GOOGL']);
    const res = await api('DELETE', `/subscribers/${enc('sms:447700900123')}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: 'stopped', previousStatus: 'active' });
    expect(await store.isSubscribed('sms:447700900123', 'MSFT')).toBe(false);
    expect(await store.isSubscribed('sms:447700900123', 'GOOGL')).toBe(false);
    expect((await api('DELETE', `/subscribers/${enc('sms:447700900999')}`)).statusCode).toBe(404);
  });

  it('DELETE /subscribers/:id/symbols/:symbol drops one symbol', async () => {
    await store.subscribe('sms', '447700900123', ['MSFT', 'GOOGL']);
    const res = await api('DELETE', `/subscribers/${enc('sms:447700900123')}/symbols/msft`);
    expect(res.statusCode).toBe(200);
    expect(res.json().symbols).toEqual(['GOOGL']);
    expect(await store.isSubscribed('sms:447700900123', 'MSFT')).toBe(false);
    expect(await store.isSubscribed('sms:447700900123', 'GOOGL')).toBe(true);
    const again = await api('DELETE', `/subscribers/${enc('sms:447700900123')}/symbols/MSFT`);
    expect(again.statusCode).toBe(404);
    expect(again.json().error).toMatch(/does not follow MSFT/);
    expect((await api('DELETE', `/subscribers/${enc('sms:447700900123')}/symbols/${enc('$$')}`)).statusCode).toBe(400);
  });

  it('GET /subscribers/:id/messages shows recent messages and their delivery states', async () => {
    await store.subscribe('sms', '447700900123', ['MSFT']);
    const log = new DeliveryLog(t.redis, ing.keys);
    await log.recordSent({ messageUuid: 'u-1', subscriberId: 'sms:447700900123', channel: 'sms', text: 'MSFT 412.35', at: 1_000 });
    await log.recordSent({ messageUuid: 'u-2', subscriberId: 'sms:447700900123', channel: 'sms', text: 'MSFT 413.55', at: 2_000 });
    await log.applyStatus({ channel: 'sms', messageId: 'u-1', status: 'delivered', timestamp: new Date().toISOString() });
    await log.applyStatus({ channel: 'sms', messageId: 'u-2', status: 'rejected', timestamp: new Date().toISOString(), error: { code: '1240', reason: 'opted out' } });
    const res = await api('GET', `/subscribers/${enc('sms:447700900123')}/messages`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: 'sms:********0123',
      messages: [
        { messageUuid: 'u-2', text: 'MSFT 413.55', state: 'rejected', error: '1240 opted out' },
        { messageUuid: 'u-1', text: 'MSFT 412.35', state: 'delivered', sentAt: new Date(1_000).toISOString() },
      ],
    });
    expect((await api('GET', `/subscribers/${enc('sms:447700900123')}/messages?limit=1`)).json().messages).toHaveLength(1);
    expect((await api('GET', `/subscribers/${enc('sms:447700900999')}/messages`)).statusCode).toBe(404);
    expect((await api('GET', `/subscribers/${enc('sms:447700900123')}/messages?limit=99`)).statusCode).toBe(400);
  });

  it('POST /broadcast queues one reply per subscriber of the symbol, on each one\'s channel, and counts them', async () => {
    for (let i = 0; i < 1200; i++) await store.subscribe(i % 3 === 0 ? 'whatsapp' : 'sms', `4477009${String(i).padStart(5, '0')}`, ['MSFT']);
    await store.subscribe('viber_service', '447700800001', ['MSFT']);
    await store.subscribe('sms', '447700800002', ['GOOGL']); // not MSFT
    await store.subscribe('sms', '447700800003', ['MSFT']);
    await store.stop('sms:447700800003'); // stopped: not reached

    const res = await api('POST', '/broadcast', { symbol: 'msft', text: 'Markets close early today.', key: 'early-close' });
    expect(res.statusCode, res.body).toBe(202);
    expect(res.json()).toEqual({ symbol: 'MSFT', followers: 1201, key: 'early-close', status: '/admin/api/broadcasts/early-close' });
    // The request queued one fan-out job, not the sends: the dispatchers' fan-out adds those.
    expect(await ing.queues.fanout.count()).toBe(1);
    expect(await ing.queues.send.sms.count()).toBe(0);
    expect((await api('GET', '/broadcasts/early-close')).json()).toMatchObject({ key: 'early-close', symbol: 'MSFT', state: 'waiting' });
    await fanOut();
    expect((await api('GET', '/broadcasts/early-close')).json()).toEqual({
      key: 'early-close',
      symbol: 'MSFT',
      state: 'completed',
      count: 1201,
      byChannel: { sms: 800, whatsapp: 400, viber_service: 1 },
    });

    const sms = await ing.queues.send.sms.getJobs(['prioritized', 'waiting']);
    expect(sms).toHaveLength(800);
    expect(sms.every((j) => j.data.kind === 'reply' && j.data.text === 'Markets close early today.' && j.data.subscriberId.startsWith('sms:'))).toBe(true);
    expect(sms.every((j) => j.opts.priority === FEED_PRIORITY)).toBe(true);
    expect(new Set(sms.map((j) => j.data.subscriberId)).size).toBe(800);
    expect(await ing.queues.send.whatsapp.count()).toBe(400);
    expect(await ing.queues.send.viber_service.count()).toBe(1);
    expect(await ing.queues.send.messenger.count()).toBe(0);

    // Retried with the same key: nothing is queued twice.
    expect((await api('POST', '/broadcast', { symbol: 'MSFT', text: 'Markets close early today.', key: 'early-close' })).statusCode).toBe(202);
    await fanOut();
    expect(await ing.queues.send.sms.count()).toBe(800);
    expect((await api('GET', '/broadcasts/no-such-key')).statusCode).toBe(404);
  });

  it('POST /broadcast reaches addresses that differ only by a colon and an underscore, one job each', async () => {
    for (const address of ['page:1', 'page_1']) await store.subscribe('messenger', address, ['MSFT']);
    expect((await api('POST', '/broadcast', { symbol: 'MSFT', text: 'hi', key: 'k' })).json()).toMatchObject({ followers: 2 });
    await fanOut();
    const jobs = await ing.queues.send.messenger.getJobs(['prioritized', 'waiting']);
    expect(jobs.map((j) => j.data.subscriberId).sort()).toEqual(['messenger:page:1', 'messenger:page_1']);
  });

  it('POST /broadcast fits a long text to each channel: Messenger takes 640 characters, SMS 1,000', async () => {
    await store.subscribe('messenger', '1234567890123456', ['MSFT']);
    await store.subscribe('sms', '447700900555', ['MSFT']);
    const text = 'word '.repeat(199) + 'end.';
    expect((await api('POST', '/broadcast', { symbol: 'MSFT', text })).statusCode).toBe(202);
    await fanOut();
    const [messenger] = await ing.queues.send.messenger.getJobs(['prioritized', 'waiting']);
    const [sms] = await ing.queues.send.sms.getJobs(['prioritized', 'waiting']);
    expect(messenger?.data.kind === 'reply' && messenger.data.text.length).toBeLessThanOrEqual(640);
    expect(sms?.data.kind === 'reply' && sms.data.text).toBe(text);
  });

  it('POST /broadcast validates its input and reports zero for a symbol nobody follows', async () => {
    for (const body of [{ symbol: 'MSFT' }, { symbol: 'MSFT', text: '' }, { symbol: 'MSFT', text: 'x'.repeat(1001) }, { text: 'hi' }, { symbol: 'MSFT', text: 'hi', key: 'a b' }]) {
      const res = await api('POST', '/broadcast', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error).toBe('invalid broadcast');
    }
    const none = await api('POST', '/broadcast', { symbol: 'AAPL', text: 'hi', key: 'nobody' });
    expect(none.statusCode).toBe(202);
    expect(none.json()).toMatchObject({ symbol: 'AAPL', followers: 0 });
    await fanOut();
    expect((await api('GET', '/broadcasts/nobody')).json()).toMatchObject({ state: 'completed', count: 0, byChannel: {} });
    let sends = 0;
    for (const q of Object.values(ing.queues.send)) sends += await q.count();
    expect(sends).toBe(0);
  });
});
