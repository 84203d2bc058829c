import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MessagesClient } from '@tickercast/messages-client';
import { createLogger, PendingSignups, type InboundMessage, type Queues, type SendJob, type SubscriptionStore } from '@tickercast/shared';
import { parseCommand } from '../src/commands.ts';
import { buildDispatcher, type Dispatcher } from '../src/dispatcher.ts';
import { helpText } from '../src/texts.ts';
import { testConfig } from '../../../test/support/dispatcher.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';

const OFFERED = ['MSFT', 'GOOGL', 'AAPL'];
const PHONE = '447700900123';

let t: TestRedis;
let d: Dispatcher;
let queues: Queues;
let store: SubscriptionStore;
let signups: PendingSignups;
let handle: Dispatcher['processors']['inbound'];
let n = 0;

beforeEach(async () => {
  t = testRedis();
  // The workers are made but never run: each message goes through the inbound processor by
  // hand, and its reply stays queued to be read. Nothing is sent, so the client reaches nowhere.
  const client = new MessagesClient({ baseUrl: 'http://127.0.0.1:9', auth: { kind: 'basic', apiKey: 'unused', apiSecret: 'unused' } });
  d = await buildDispatcher(testConfig(t, { offered: OFFERED }), { client, logger: createLogger('test', 'silent'), autorun: false });
  ({ queues, store } = d);
  // Pending signups are the ingress's to create: the test makes them as the signup page would.
  signups = new PendingSignups(t.redis, t.keys);
  await d.prices.set('MSFT', 412.35);
  await d.prices.set('GOOGL', 171.2);
  handle = d.processors.inbound;
});
afterEach(async () => {
  await d.close();
  d.client.close();
  await t.cleanup();
});

/** The person's message goes through the inbound processor as the worker would run it; returns the reply queued. */
async function says(text: string, channel: InboundMessage['channel'] = 'sms', from = PHONE): Promise<{ kind: string; reply: string | undefined }> {
  const jobId = `in-m${++n}`;
  const kind = await handle({ channel, from, to: '447700900000', text, messageId: `m${n}`, receivedAt: new Date().toISOString() }, jobId);
  const job = await queues.send[channel].getJob(`re-${jobId}`);
  return { kind, reply: (job?.data as Extract<SendJob, { kind: 'reply' }> | undefined)?.text };
}

describe('confirming a web signup', () => {
  it.each(['YES', 'yes', 'Y', 'Yes!', 'yes please', 'CONFIRM', 'accept'])('"%s" turns the pending signup into a subscription, with the usual confirmation', async (text) => {
    await signups.create({ channel: 'sms', address: PHONE, symbols: ['MSFT', 'GOOGL'], ttlS: 3600 });
    const { kind, reply } = await says(text);
    expect(kind).toBe('confirm');
    expect(reply).toBe('Subscribed to MSFT, GOOGL. Reply STOP to end.\nMSFT 412.35\nGOOGL 171.20');
    expect(await store.isSubscribed(`sms:${PHONE}`, 'MSFT')).toBe(true);
    expect(await store.isSubscribed(`sms:${PHONE}`, 'GOOGL')).toBe(true);
    expect((await store.get(`sms:${PHONE}`))?.status).toBe('active');
    // Used up: a second YES is just a YES.
    expect(await signups.get(`sms:${PHONE}`)).toBeUndefined();
    expect((await says('YES')).reply).toBe(helpText(OFFERED));
  });

  it('a Viber accept works the same way, on the Viber queue', async () => {
    await signups.create({ channel: 'viber_service', address: PHONE, symbols: ['AAPL'], ttlS: 3600 });
    const { reply } = await says('Yes', 'viber_service');
    expect(reply).toMatch(/^Subscribed to AAPL\./);
    expect(await store.isSubscribed(`viber_service:${PHONE}`, 'AAPL')).toBe(true);
  });

  it.each(['NO', 'no', 'N', 'No thanks', 'decline'])('"%s" clears the pending signup and subscribes nobody', async (text) => {
    await signups.create({ channel: 'sms', address: PHONE, symbols: ['MSFT'], ttlS: 3600 });
    const { kind, reply } = await says(text);
    expect(kind).toBe('decline');
    expect(reply).toMatch(/will not be subscribed/);
    expect(await signups.get(`sms:${PHONE}`)).toBeUndefined();
    expect(await store.isSubscribed(`sms:${PHONE}`, 'MSFT')).toBe(false);
    expect((await store.get(`sms:${PHONE}`))?.symbols ?? []).toEqual([]);
    // Nothing left for a later YES.
    await says('YES');
    expect(await store.isSubscribed(`sms:${PHONE}`, 'MSFT')).toBe(false);
  });

  it('a YES with no pending signup gets the help text and subscribes nothing', async () => {
    const { reply } = await says('YES');
    expect(reply).toBe(helpText(OFFERED));
    expect((await store.get(`sms:${PHONE}`))?.symbols ?? []).toEqual([]);
  });

  it('a pending signup belongs to one channel and one number', async () => {
    await signups.create({ channel: 'whatsapp', address: PHONE, symbols: ['MSFT'], ttlS: 3600 });
    await says('YES', 'sms');
    await says('YES', 'whatsapp', '447700900999');
    expect(await store.isSubscribed(`sms:${PHONE}`, 'MSFT')).toBe(false);
    expect(await store.isSubscribed('whatsapp:447700900999', 'MSFT')).toBe(false);
    expect(await signups.get(`whatsapp:${PHONE}`)).toBeDefined();
  });

  it('an expired pending signup is gone: the YES gets the help text', async () => {
    await signups.create({ channel: 'sms', address: PHONE, symbols: ['MSFT'], ttlS: 1 });
    await t.redis.pexpire(t.keys.pendingSignup(`sms:${PHONE}`), 1);
    await new Promise((r) => setTimeout(r, 20));
    expect((await says('YES')).reply).toBe(helpText(OFFERED));
    expect(await store.isSubscribed(`sms:${PHONE}`, 'MSFT')).toBe(false);
  });

  it('a symbol no longer on offer is left out', async () => {
    await signups.create({ channel: 'sms', address: PHONE, symbols: ['MSFT', 'IBM'], ttlS: 3600 });
    expect((await says('YES')).reply).toMatch(/^Subscribed to MSFT\./);
    expect((await store.get(`sms:${PHONE}`))?.symbols).toEqual(['MSFT']);
  });

  it('YES and NO are answers only on their own: a ticker on offer still wins, other commands are unchanged', () => {
    const offered = new Set([...OFFERED, 'Y']);
    expect(parseCommand('Y', offered)).toEqual({ kind: 'subscribe', symbols: ['Y'], unknown: [] });
    expect(parseCommand('yes msft', new Set(OFFERED))).toMatchObject({ kind: 'subscribe', symbols: ['MSFT'] });
    expect(parseCommand('no idea what this is', new Set(OFFERED))).toEqual({ kind: 'help' });
    expect(parseCommand('STOP', new Set(OFFERED))).toEqual({ kind: 'stop-all' });
  });
});
