import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CHANNELS,
  createQueues,
  fanoutJobId,
  inboundJobId,
  inboundMessageSchema,
  JOB_DEFAULTS,
  jobIdPart,
  QUEUE,
  sendQueueName,
  statusJobId,
  statusUpdateSchema,
  type InboundMessage,
} from '@tickercast/shared';
import { testRedis } from '../../../test/support/redis.ts';

const DAY_S = 24 * 60 * 60;

const t = testRedis();
const queues = createQueues(t.redis, t.keys);
afterAll(async () => {
  await queues.close();
  await t.cleanup();
});

const message = (messageId: string, text = 'MSFT'): InboundMessage => ({
  channel: 'sms',
  from: '447700900123',
  to: '447700900000',
  text,
  messageId,
  receivedAt: '2025-01-01T12:00:00.000Z',
});

describe('job defaults', () => {
  it('completed inbound and status jobs are kept longer than Vonage retries a webhook (24 h)', () => {
    for (const opts of [JOB_DEFAULTS.inbound, JOB_DEFAULTS.status]) {
      const keep = opts.removeOnComplete;
      expect(typeof keep).toBe('object');
      expect((keep as { age: number }).age).toBeGreaterThanOrEqual(DAY_S);
      expect(opts.attempts).toBeGreaterThan(1);
    }
  });

  it('every job kind retries with backoff and is eventually removed', () => {
    for (const opts of Object.values(JOB_DEFAULTS)) {
      expect(opts.attempts).toBeGreaterThan(1);
      expect(opts.backoff).toMatchObject({ type: 'exponential' });
      expect(opts.removeOnComplete).toBeTruthy();
      expect(opts.removeOnFail).toBeTruthy();
    }
  });

  it('a job added to the inbound queue carries the inbound defaults, as stored in Redis', async () => {
    const m = message('defaults-1');
    await queues.inbound.add('inbound', m, { jobId: inboundJobId(m) });
    const job = await queues.inbound.getJob(inboundJobId(m));
    expect(job?.opts.attempts).toBe(JOB_DEFAULTS.inbound.attempts);
    expect(job?.opts.removeOnComplete).toEqual(JOB_DEFAULTS.inbound.removeOnComplete);
    expect(job?.opts.backoff).toEqual(JOB_DEFAULTS.inbound.backoff);
  });

  it('each queue gets its own defaults', async () => {
    await queues.send.sms.add('price', { kind: 'price', subscriberId: 'sms:447700900123', symbol: 'MSFT' }, { jobId: 'defaults-send' });
    const job = await queues.send.sms.getJob('defaults-send');
    expect(job?.opts.attempts).toBe(JOB_DEFAULTS.send.attempts);
    expect(job?.opts.removeOnComplete).toEqual(JOB_DEFAULTS.send.removeOnComplete);
  });
});

describe('createQueues', () => {
  it('creates the inbound, status and fan-out queues and one send queue per channel', () => {
    expect(queues.inbound.name).toBe(QUEUE.inbound);
    expect(queues.status.name).toBe(QUEUE.status);
    expect(queues.fanout.name).toBe(QUEUE.fanout);
    for (const c of CHANNELS) expect(queues.send[c].name).toBe(sendQueueName(c));
    expect(queues.all().map((q) => q.name).sort()).toEqual(
      ['fanout', 'inbound', 'send-messenger', 'send-sms', 'send-viber_service', 'send-whatsapp', 'status'].sort(),
    );
  });

  it('a job added twice with the same job id is one job', async () => {
    const first = message('dup-1', 'first');
    const again = message('dup-1', 'second');
    const a = await queues.inbound.add('inbound', first, { jobId: inboundJobId(first) });
    const b = await queues.inbound.add('inbound', again, { jobId: inboundJobId(again) });
    expect(b.id).toBe(a.id);
    const waiting = (await queues.inbound.getWaiting()).filter((j) => j.id === inboundJobId(first));
    expect(waiting).toHaveLength(1);
    expect((await queues.inbound.getJob(inboundJobId(first)))?.data.text).toBe('first');
  });

  it('distinct ids are distinct jobs', async () => {
    const before = (await queues.status.getJobCounts('waiting')).waiting ?? 0;
    const base = { channel: 'whatsapp', messageId: 'st-distinct', timestamp: '2025-01-01T12:00:00.000Z' } as const;
    for (const status of ['submitted', 'delivered', 'delivered', 'read'] as const) {
      await queues.status.add('status', { ...base, status }, { jobId: statusJobId({ ...base, status }) });
    }
    expect((await queues.status.getJobCounts('waiting')).waiting).toBe(before + 3);
  });

  it('queue keys live under the namespace, with the {q} hash tag', async () => {
    await queues.fanout.add('fanout', { symbol: 'MSFT', version: 1, tickedAt: 1 }, { jobId: fanoutJobId({ symbol: 'MSFT', version: 1 }) });
    const keys = await t.redis.keys(`${t.namespace}:*fanout*`);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.startsWith(`${t.keys.queuePrefix(QUEUE.fanout)}:fanout:`)).toBe(true);
  });
});

describe('job ids', () => {
  it('a provider id with colons or only digits still makes a legal, distinct BullMQ job id', async () => {
    const ids = ['abc:def', '1234567890', 'abc_def'];
    for (const id of ids) {
      const m = message(id);
      await queues.inbound.add('inbound', m, { jobId: inboundJobId(m) });
    }
    const jobIds = ids.map((id) => inboundJobId({ messageId: id }));
    for (const jobId of jobIds) {
      expect(jobId).not.toContain(':');
      expect(Number.isInteger(Number(jobId))).toBe(false);
      expect(await queues.inbound.getJob(jobId)).toBeDefined();
    }
  });

  it('ids that differ only by a colon and an underscore (or an escape) are different jobs', async () => {
    // Issue 19 item 14: replacing ':' with '_' made abc:def and abc_def one job, so the second was lost as a "duplicate".
    const ids = ['abc:def', 'abc_def', 'abc%3Adef', 'abc%253Adef'];
    for (const id of ids) {
      const m = message(id);
      await queues.inbound.add('inbound', m, { jobId: inboundJobId(m) });
    }
    const jobs = await Promise.all(ids.map((id) => queues.inbound.getJob(inboundJobId({ messageId: id }))));
    expect(jobs.map((j) => j?.data.messageId)).toEqual(ids);
  });

  it('job ids are one-to-one and never hold a colon, whatever the provider id', () => {
    const unit = fc.constantFrom(':', '_', '%', '3', 'A', 'a', '2', '5', '-');
    // Each id beside the ids a replacing or half-escaping scheme would confuse it with.
    const lookalikes = (a: string) => [a, a.replaceAll(':', '_'), a.replaceAll('_', ':'), a.replaceAll(':', '%3A'), a.replaceAll('%3A', ':'), a.replaceAll('%', '%25')];
    fc.assert(
      fc.property(fc.string({ unit, minLength: 1 }), fc.string({ unit }), (a, b) => {
        const ids = [...new Set([...lookalikes(a), b])];
        for (const id of ids) expect(jobIdPart(id)).not.toContain(':');
        expect(new Set(ids.map(jobIdPart)).size).toBe(ids.length);
        expect(new Set(ids.map((messageId) => inboundJobId({ messageId }))).size).toBe(ids.length);
        expect(new Set(ids.map((messageId) => statusJobId({ messageId, status: 'read' }))).size).toBe(ids.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('a status id names the message and the status, a fan-out id the symbol and version', () => {
    expect(statusJobId({ messageId: 'm-1', status: 'submitted' })).not.toBe(statusJobId({ messageId: 'm-1', status: 'delivered' }));
    expect(statusJobId({ messageId: 'm-1', status: 'delivered' })).toBe(statusJobId({ messageId: 'm-1', status: 'delivered' }));
    expect(fanoutJobId({ symbol: 'MSFT', version: 7 })).not.toBe(fanoutJobId({ symbol: 'MSFT', version: 8 }));
    expect(inboundJobId({ messageId: 'x' })).not.toBe(statusJobId({ messageId: 'x', status: 'delivered' }));
  });
});

describe('job schemas', () => {
  it('an inbound message needs a channel it serves and an ISO time', () => {
    expect(inboundMessageSchema.safeParse(message('ok')).success).toBe(true);
    expect(inboundMessageSchema.safeParse({ ...message('x'), channel: 'mms' }).success).toBe(false);
    expect(inboundMessageSchema.safeParse({ ...message('x'), receivedAt: '2025-01-01 12:00:00' }).success).toBe(false);
    expect(inboundMessageSchema.safeParse({ ...message('x'), messageId: '' }).success).toBe(false);
  });

  it('a status update needs a known state', () => {
    const base = { channel: 'sms', messageId: 'm', timestamp: 't' };
    expect(statusUpdateSchema.safeParse({ ...base, status: 'delivered' }).success).toBe(true);
    expect(statusUpdateSchema.safeParse({ ...base, status: 'teleported' }).success).toBe(false);
  });
});
