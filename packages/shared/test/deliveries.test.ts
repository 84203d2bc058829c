import { afterAll, describe, expect, it } from 'vitest';
import { DeliveryLog } from '@tickercast/shared';
import { testRedis } from '../../../test/support/redis.ts';

const t = testRedis();
const log = new DeliveryLog(t.redis, t.keys);
afterAll(() => t.cleanup());

describe('DeliveryLog', () => {
  it("records a failover leg once, however many of its statuses come at once, for the workflow's subscriber", async () => {
    await log.recordSent({ messageUuid: 'first-1', subscriberId: 'whatsapp:447700900123', channel: 'whatsapp', text: 'MSFT 412.35', workflowId: 'wf-1' });
    // The leg's submitted and delivered statuses, processed by two workers at the same moment.
    const legs = await Promise.all(Array.from({ length: 5 }, () => log.failoverLeg('wf-1', 'leg-1', 'sms')));
    expect(legs.filter((l) => l?.isNew)).toHaveLength(1);
    for (const l of legs) expect(l?.first).toMatchObject({ messageUuid: 'first-1', subscriberId: 'whatsapp:447700900123' });
    expect(await log.get('leg-1')).toMatchObject({ subscriberId: 'whatsapp:447700900123', channel: 'sms', text: 'MSFT 412.35', state: 'accepted' });
    expect((await log.history('whatsapp:447700900123')).map((m) => m.messageUuid)).toEqual(['leg-1', 'first-1']);
    expect(await t.redis.hget(t.keys.deliveryCountsOf('leg-1'), 'sms:accepted')).toBe('1');
    // A workflow that is not ours records nothing.
    expect(await log.failoverLeg('wf-unknown', 'leg-2', 'sms')).toBeUndefined();
    expect(await log.get('leg-2')).toBeUndefined();
  });
});
