import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createQueues, createRedis, PendingSignups, sendSpacingMs, SubscriptionStore, type SendJob } from '@tickercast/shared';
import { buildIngress } from '../src/app.ts';
import { redisUrl, testRedis } from '../../../test/support/redis.ts';
import { testIngress, type TestIngress } from './helpers.ts';

const t = testRedis();
let ing: TestIngress;
afterEach(() => ing.close());
afterAll(() => t.cleanup());

const SYMBOLS = ['MSFT', 'GOOGL', 'AAPL'];
const start = async (o: Parameters<typeof testIngress>[1] = {}) => {
  ing = await testIngress(t, { symbols: SYMBOLS, ...o });
};

function formBody(fields: Record<string, string | string[]>): string {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const one of [v].flat()) form.append(k, one);
  return form.toString();
}

/** A browser at `ip` posting the form: repeated `tickers` for several checkboxes. */
function post(fields: Record<string, string | string[]>, ip = '203.0.113.7', headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return ing.app.inject({
    method: 'POST',
    url: '/signup',
    remoteAddress: ip,
    payload: formBody(fields),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  });
}

async function jobs(channel: 'sms' | 'whatsapp' | 'viber_service' | 'messenger'): Promise<SendJob[]> {
  return (await ing.queues.send[channel].getJobs(['waiting', 'prioritized', 'delayed'])).map((j) => j.data);
}

describe('GET /signup', () => {
  it('renders the form: a channel for each number we have, a checkbox per ticker on offer, no external assets', async () => {
    await start();
    const res = await ing.app.inject({ method: 'GET', url: '/signup' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    const html = res.body;
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<form method="post" action="/signup"');
    expect([...html.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1])).toEqual(['sms', 'whatsapp', 'viber_service']);
    expect([...html.matchAll(/type="checkbox" name="tickers" value="([^"]+)"/g)].map((m) => m[1])).toEqual(SYMBOLS);
    expect(html).toContain('name="number"');
    expect(html).toContain('<style>');
    expect(html).not.toMatch(/<script|<link |src="http/);
  });

  it('offers only the channels given (those with a sender number)', async () => {
    await start({ signupChannels: ['sms'] });
    const html = (await ing.app.inject({ method: 'GET', url: '/signup' })).body;
    expect([...html.matchAll(/<option value="([^"]+)"/g)].map((m) => m[1])).toEqual(['sms']);
    const res = await post({ channel: 'viber_service', number: '447700900123', tickers: 'MSFT' });
    expect(res.statusCode).toBe(400);
    expect(await ing.totalJobs()).toBe(0);
  });
});

describe('POST /signup', () => {
  it('an SMS signup keeps a pending signup and queues exactly one confirmation, to the normalized number', async () => {
    await start();
    const res = await post({ channel: 'sms', number: ' +447700900123 ', tickers: ['MSFT', 'GOOGL'] });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.body).toContain('Check your phone and reply <span class="reply">YES</span>');
    expect(res.body).toContain('********0123');
    expect(res.body).not.toContain('447700900123');

    expect(await jobs('sms')).toEqual([
      { kind: 'reply', subscriberId: 'sms:447700900123', text: 'Reply YES to get MSFT, GOOGL price updates from tickercast. Ignore this if you did not ask.', optIn: true },
    ]);
    expect(await ing.totalJobs()).toBe(1);
    // No priority: it goes ahead of feed updates.
    const [job] = await ing.queues.send.sms.getWaiting();
    expect(job?.opts.priority ?? 0).toBe(0);

    const pending = await new PendingSignups(t.redis, ing.keys).get('sms:447700900123');
    expect(pending).toMatchObject({ channel: 'sms', address: '447700900123', symbols: ['MSFT', 'GOOGL'] });
    const ttl = await t.redis.ttl(ing.keys.pendingSignup('sms:447700900123'));
    // Short-lived by default (SIGNUP_PENDING_TTL_S, an hour): an unanswered signup does not linger.
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
    // Nobody is subscribed until they reply YES.
    expect(await new SubscriptionStore(t.redis, ing.keys).get('sms:447700900123')).toBeUndefined();
  });

  it('tickers keep the order of the offer, whatever order they were posted in', async () => {
    await start();
    await post({ channel: 'sms', number: '447700900123', tickers: ['AAPL', 'msft'] });
    expect(await jobs('sms')).toEqual([expect.objectContaining({ text: 'Reply YES to get MSFT, AAPL price updates from tickercast. Ignore this if you did not ask.' })]);
  });

  it('WhatsApp: one confirmation on the WhatsApp queue (sent as the opt-in template outside the window)', async () => {
    await start();
    expect((await post({ channel: 'whatsapp', number: '0033612345678', tickers: 'AAPL' })).statusCode).toBe(200);
    expect(await jobs('whatsapp')).toEqual([{ kind: 'reply', subscriberId: 'whatsapp:33612345678', text: expect.stringMatching(/^Reply YES to get AAPL price updates/), optIn: true }]);
    expect(await ing.totalJobs()).toBe(1);
  });

  it('Viber: a welcome to accept or decline', async () => {
    await start();
    expect((await post({ channel: 'viber_service', number: '+14155550123', tickers: ['GOOGL'] })).statusCode).toBe(200);
    expect(await jobs('viber_service')).toEqual([
      { kind: 'reply', subscriberId: 'viber_service:14155550123', text: 'Welcome to tickercast! You asked for GOOGL price updates. Reply YES to start, NO to decline.', optIn: true },
    ]);
  });

  it.each([
    ['letters', 'call me maybe'],
    ['too short', '12345'],
    ['too long', '1234567890123456'],
    ['a leading zero', '07700900123'],
    ['not a possible number', '+999123456789'],
  ])('an invalid number (%s) is a 400 page saying so, and sends nothing', async (_what, number) => {
    await start();
    const res = await post({ channel: 'sms', number, tickers: 'MSFT' });
    expect(res.statusCode).toBe(400);
    expect(res.headers['content-type']).toContain('text/html');
    expect(res.body).toContain('is not a phone number we can reach');
    expect(await ing.totalJobs()).toBe(0);
    expect(await t.redis.keys(ing.keys.pendingSignup('*'))).toEqual([]);
  });

  it('no ticker chosen is a 400 page saying so, keeping what was typed', async () => {
    await start();
    const res = await post({ channel: 'whatsapp', number: '447700900123' });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Choose at least one ticker.');
    expect(res.body).toContain('value="447700900123"');
    expect(res.body).toContain('<option value="whatsapp" selected>');
    expect(await ing.totalJobs()).toBe(0);
  });

  it('every problem is listed at once; a ticker not on offer is named', async () => {
    await start();
    const res = await post({ channel: 'fax', number: '', tickers: ['TSLA', 'MSFT'] });
    expect(res.statusCode).toBe(400);
    expect(res.body).toContain('Choose how to get updates: SMS, WhatsApp, Viber.');
    expect(res.body).toContain('Enter your phone number.');
    expect(res.body).toContain('Not on offer: TSLA.');
    expect(await ing.totalJobs()).toBe(0);
  });

  it('what a person typed is escaped, never markup', async () => {
    await start();
    const res = await post({ channel: 'sms', number: '<script>alert(1)</script>', tickers: '<b>X' });
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('<script>alert(1)</script>');
    expect(res.body).toContain('&lt;script&gt;');
    expect(res.body).not.toContain('<B>X');
  });

  it('a body that is not a form is a 400 or 415 page, and sends nothing', async () => {
    await start();
    const big = await ing.app.inject({ method: 'POST', url: '/signup', payload: `number=${'1'.repeat(9000)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(big.statusCode).toBe(413);
    expect(big.headers['content-type']).toContain('text/html');
    const xml = await ing.app.inject({ method: 'POST', url: '/signup', payload: '<x/>', headers: { 'content-type': 'application/xml' } });
    expect(xml.statusCode).toBe(415);
    expect(await ing.totalJobs()).toBe(0);
  });

  it('the page never tells who is subscribed: a subscriber and a stranger get the same answer; the message does the telling', async () => {
    await start();
    await new SubscriptionStore(t.redis, ing.keys).subscribe('sms', '447700900123', ['MSFT', 'GOOGL']);
    const subscribed = await post({ channel: 'sms', number: '+447700900123', tickers: 'MSFT' });
    const stranger = await post({ channel: 'sms', number: '+447700900124', tickers: 'MSFT' });
    expect(subscribed.statusCode).toBe(200);
    expect(stranger.statusCode).toBe(200);
    expect(subscribed.body.replace('********0123', 'N')).toBe(stranger.body.replace('********0124', 'N'));
    expect(subscribed.body).not.toMatch(/already/i);
    expect((await jobs('sms')).map((j) => j.subscriberId).sort()).toEqual(['sms:447700900123', 'sms:447700900124']);
  });

  it(`after SIGNUP_RATE_LIMIT posts from one address the next is a 429 page that sends nothing; other addresses are not limited`, async () => {
    await start({ signupRateLimit: 3 });
    for (let i = 0; i < 3; i++) {
      expect((await post({ channel: 'sms', number: `44770090012${i}`, tickers: 'MSFT' }, '198.51.100.1')).statusCode).toBe(200);
    }
    expect(await ing.totalJobs()).toBe(3);
    // Invalid posts count too (no probing past the limit).
    const limited = await post({ channel: 'sms', number: '447700900129', tickers: 'MSFT' }, '198.51.100.1');
    expect(limited.statusCode).toBe(429);
    expect(limited.body).toContain('Too many signups from your network');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(3500);
    expect(await ing.totalJobs()).toBe(3);
    expect((await post({ channel: 'sms', number: 'nonsense' }, '198.51.100.1')).statusCode).toBe(429);

    expect((await post({ channel: 'sms', number: '447700900129', tickers: 'MSFT' }, '198.51.100.2')).statusCode).toBe(200);
    expect(await ing.totalJobs()).toBe(4);
  });

  it('the rate limit lives in Redis: it holds across two ingress replicas', async () => {
    await start({ signupRateLimit: 2 });
    const queues = createQueues(t.redis, ing.keys);
    const replica = buildIngress({ queues, redis: t.redis, keys: ing.keys, symbols: SYMBOLS, signupRateLimit: 2 });
    try {
      expect((await post({ channel: 'sms', number: '447700900121', tickers: 'MSFT' }, '192.0.2.1')).statusCode).toBe(200);
      const form = 'channel=sms&number=447700900122&tickers=MSFT';
      const request = { method: 'POST', url: '/signup', payload: form, remoteAddress: '192.0.2.1', headers: { 'content-type': 'application/x-www-form-urlencoded' } } as const;
      expect((await replica.inject(request)).statusCode).toBe(200);
      expect((await post({ channel: 'sms', number: '447700900123', tickers: 'MSFT' }, '192.0.2.1')).statusCode).toBe(429);
      expect((await replica.inject(request)).statusCode).toBe(429);
      expect(await ing.totalJobs()).toBe(2);
    } finally {
      await replica.close();
      await queues.close();
    }
  });

  it('one number gets at most SIGNUP_NUMBER_RATE_LIMIT confirmations a day, whoever asks', async () => {
    await start({ signupNumberRateLimit: 2 });
    for (const ip of ['192.0.2.10', '192.0.2.11']) expect((await post({ channel: 'sms', number: '447700900123', tickers: 'MSFT' }, ip)).statusCode).toBe(200);
    const res = await post({ channel: 'sms', number: '447700900123', tickers: 'GOOGL' }, '192.0.2.12');
    expect(res.statusCode).toBe(429);
    expect(res.body).toContain('Too many confirmations for this number');
    expect(await ing.totalJobs()).toBe(2);
    // The same number on another channel is another subscriber.
    expect((await post({ channel: 'whatsapp', number: '447700900123', tickers: 'MSFT' }, '192.0.2.12')).statusCode).toBe(200);
  });

  it('by default (TRUST_PROXY=false) a spoofed X-Forwarded-For does not reset the limit: it is per connection address', async () => {
    await start({ signupRateLimit: 1 });
    const spoof = (ip: string) => ({ 'x-forwarded-for': ip });
    expect((await post({ channel: 'sms', number: '447700900121', tickers: 'MSFT' }, '192.0.2.99', spoof('192.0.2.20'))).statusCode).toBe(200);
    expect((await post({ channel: 'sms', number: '447700900122', tickers: 'MSFT' }, '192.0.2.99', spoof('192.0.2.21'))).statusCode).toBe(429);
    expect(await ing.totalJobs()).toBe(1);
  });

  it('with TRUST_PROXY naming the proxy, its X-Forwarded-For gives the client address', async () => {
    await start({ signupRateLimit: 1, trustProxy: ['10.0.0.1'] });
    const via = (ip: string) => ({ 'x-forwarded-for': ip });
    expect((await post({ channel: 'sms', number: '447700900121', tickers: 'MSFT' }, '10.0.0.1', via('192.0.2.20'))).statusCode).toBe(200);
    expect((await post({ channel: 'sms', number: '447700900122', tickers: 'MSFT' }, '10.0.0.1', via('192.0.2.21'))).statusCode).toBe(200);
    expect((await post({ channel: 'sms', number: '447700900123', tickers: 'MSFT' }, '10.0.0.1', via('192.0.2.21'))).statusCode).toBe(429);
    // Anyone else's X-Forwarded-For is not believed.
    expect((await post({ channel: 'sms', number: '447700900124', tickers: 'MSFT' }, '192.0.2.50', via('192.0.2.22'))).statusCode).toBe(200);
    expect((await post({ channel: 'sms', number: '447700900125', tickers: 'MSFT' }, '192.0.2.50', via('192.0.2.23'))).statusCode).toBe(429);
  });

  it('an IPv6 client is limited by its /64: fresh addresses from one prefix do not buy fresh signups', async () => {
    await start({ signupRateLimit: 2 });
    expect((await post({ channel: 'sms', number: '447700900121', tickers: 'MSFT' }, '2001:db8:5:6::1')).statusCode).toBe(200);
    expect((await post({ channel: 'sms', number: '447700900122', tickers: 'MSFT' }, '2001:db8:5:6::2')).statusCode).toBe(200);
    expect((await post({ channel: 'sms', number: '447700900123', tickers: 'MSFT' }, '2001:db8:5:6:ffff::3')).statusCode).toBe(429);
    expect((await post({ channel: 'sms', number: '447700900123', tickers: 'MSFT' }, '2001:db8:5:7::1')).statusCode).toBe(200);
  });

  it('a global budget per minute caps signups over every client: past it, a 429 page, no message, no pending signup', async () => {
    await start({ signupBudgetPerMinute: 3 });
    for (let i = 0; i < 3; i++) {
      expect((await post({ channel: 'sms', number: `44770090013${i}`, tickers: 'MSFT' }, `198.51.100.${10 + i}`)).statusCode).toBe(200);
    }
    const refused = await post({ channel: 'viber_service', number: '14155550123', tickers: 'MSFT' }, '198.51.100.20');
    expect(refused.statusCode).toBe(429);
    expect(refused.body).toContain('We are getting many signups right now');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(await ing.totalJobs()).toBe(3);
    expect(await t.redis.exists(ing.keys.pendingSignup('viber_service:14155550123'))).toBe(0);
  });

  it('a budget per destination country: one country used up leaves the others open', async () => {
    await start({ signupCountryBudgetPerMinute: 2 });
    expect((await post({ channel: 'sms', number: '447700900121', tickers: 'MSFT' }, '198.51.100.1')).statusCode).toBe(200);
    expect((await post({ channel: 'whatsapp', number: '447700900122', tickers: 'MSFT' }, '198.51.100.2')).statusCode).toBe(200);
    const uk = await post({ channel: 'sms', number: '447700900123', tickers: 'MSFT' }, '198.51.100.3');
    expect(uk.statusCode).toBe(429);
    expect(uk.body).toContain('We are getting many signups right now');
    expect((await post({ channel: 'sms', number: '14155550123', tickers: 'MSFT' }, '198.51.100.4')).statusCode).toBe(200);
    expect((await post({ channel: 'sms', number: '33612345678', tickers: 'MSFT' }, '198.51.100.5')).statusCode).toBe(200);
    expect(await ing.totalJobs()).toBe(4);
  });

  it('confirmations take at most SIGNUP_RATE_SHARE of the channel rate, on a schedule of their own: replies keep theirs', async () => {
    // SMS at 10/s with a tenth of its sends for signups: one confirmation every ten send slots, no burst.
    await start({ rates: { sms: 10, whatsapp: 10, messenger: 10, viber_service: 10 }, signupRateShare: 0.1 });
    for (let i = 0; i < 3; i++) expect((await post({ channel: 'sms', number: `44770090014${i}`, tickers: 'MSFT' }, `198.51.100.${30 + i}`)).statusCode).toBe(200);
    const delays = (await ing.queues.send.sms.getJobs(['waiting', 'delayed'])).map((j) => j.opts.delay ?? 0).sort((a, b) => a - b);
    const interval = sendSpacingMs(10) / 0.1;
    expect(delays).toHaveLength(3);
    expect(delays[0]).toBe(0);
    // Each one interval after the last on the schedule, less the time the posts themselves took.
    expect(delays[1]).toBeGreaterThan(interval - 100);
    expect(delays[1]).toBeLessThanOrEqual(interval);
    expect(delays[2]).toBeGreaterThan(2 * interval - 100);
    expect(delays[2]).toBeLessThanOrEqual(2 * interval);
    // The replies' own schedule is untouched: a reply to a person now would go at once.
    expect(await t.redis.exists(ing.keys.replyPacing('sms'))).toBe(0);
  });

  it('a confirmation that would wait over two minutes for its slot is not queued: 429, no pending signup', async () => {
    // One confirmation every 100 s: the first goes now, the second in 100 s, the third would wait 200 s.
    await start({ rates: { sms: 1, whatsapp: 1, messenger: 1, viber_service: 1 }, signupRateShare: 0.01 });
    expect((await post({ channel: 'sms', number: '447700900151', tickers: 'MSFT' }, '198.51.100.40')).statusCode).toBe(200);
    expect((await post({ channel: 'sms', number: '447700900152', tickers: 'MSFT' }, '198.51.100.41')).statusCode).toBe(200);
    const refused = await post({ channel: 'sms', number: '447700900153', tickers: 'MSFT' }, '198.51.100.42');
    expect(refused.statusCode).toBe(429);
    expect(refused.body).toContain('We are getting many signups right now');
    expect(await ing.totalJobs()).toBe(2);
    expect(await t.redis.exists(ing.keys.pendingSignup('sms:447700900153'))).toBe(0);
    // A refused request for a number already waiting for its YES leaves that pending signup as it was.
    expect((await post({ channel: 'sms', number: '447700900151', tickers: 'GOOGL' }, '198.51.100.43')).statusCode).toBe(429);
    expect(await new PendingSignups(t.redis, ing.keys).get('sms:447700900151')).toMatchObject({ symbols: ['MSFT'] });
  });

  it('a form posted from another site (CSRF) is refused with 403 and sends nothing; our own page, PUBLIC_URL or no Origin pass', async () => {
    await start({ publicUrl: 'https://prices.example.com' });
    const evil = await post({ channel: 'sms', number: '447700900161', tickers: 'MSFT' }, '198.51.100.50', { origin: 'https://evil.example' });
    expect(evil.statusCode).toBe(403);
    expect(evil.body).toContain('This form can only be sent from our own page');
    const evilReferer = await post({ channel: 'sms', number: '447700900161', tickers: 'MSFT' }, '198.51.100.50', { referer: 'https://evil.example/page' });
    expect(evilReferer.statusCode).toBe(403);
    expect((await post({ channel: 'sms', number: '447700900161', tickers: 'MSFT' }, '198.51.100.50', { origin: 'null' })).statusCode).toBe(403);
    expect(await ing.totalJobs()).toBe(0);

    expect((await post({ channel: 'sms', number: '447700900162', tickers: 'MSFT' }, '198.51.100.51', { origin: 'https://prices.example.com' })).statusCode).toBe(200);
    expect((await post({ channel: 'sms', number: '447700900163', tickers: 'MSFT' }, '198.51.100.52', { origin: 'http://localhost:80' })).statusCode).toBe(200);
    expect((await post({ channel: 'sms', number: '447700900164', tickers: 'MSFT' }, '198.51.100.53')).statusCode).toBe(200);
    expect(await ing.totalJobs()).toBe(3);
  });

  it('a failure on our side is a 503 page and leaves no pending signup behind without its message', async () => {
    await start();
    const conn = createRedis(redisUrl());
    const broken = createQueues(conn, ing.keys);
    await Promise.all(broken.all().map((q) => q.waitUntilReady()));
    await conn.ping();
    await conn.quit();
    const sick = buildIngress({ queues: broken, redis: t.redis, keys: ing.keys, symbols: SYMBOLS });
    try {
      const res = await sick.inject({ method: 'POST', url: '/signup', payload: 'channel=sms&number=447700900123&tickers=MSFT', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body).toContain('Something went wrong on our side');
      expect(await t.redis.exists(ing.keys.pendingSignup('sms:447700900123'))).toBe(0);
    } finally {
      await sick.close();
      await broken.close().catch(() => {});
    }
  });
});
