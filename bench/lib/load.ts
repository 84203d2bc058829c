/**
 * The load the bench puts on the system: subscribers seeded straight into Redis, and ticks (the
 * bench is the ticker: it writes the price with PriceCache and adds the fan-out job itself, so it
 * knows each tick's time).
 */
import { randomUUID } from 'node:crypto';
import {
  AlertStore,
  alertField,
  duePartition,
  encodeAlert,
  inboundJobId,
  makeTick,
  moveTriggers,
  subscriberId,
  SUBSCRIPTIONS_LAYOUT,
  SYMBOL_FIELD,
  type Channel,
  type RedisClient,
} from '@tickercast/shared';
import type { BenchSystem } from './system.ts';

/** The channel mix of a fan-out: 70% SMS, 20% WhatsApp, 10% Viber. */
export const MIX: readonly { channel: Channel; share: number }[] = [
  { channel: 'sms', share: 0.7 },
  { channel: 'whatsapp', share: 0.2 },
  { channel: 'viber_service', share: 0.1 },
];

function channelAt(i: number, mix: readonly { channel: Channel; share: number }[]): Channel {
  // Deterministic and evenly spread: subscriber i takes the channel its position in each block of 100 falls in.
  const slot = (i % 100) / 100;
  let acc = 0;
  for (const m of mix) {
    acc += m.share;
    if (slot < acc - 1e-9) return m.channel;
  }
  return mix[mix.length - 1]!.channel;
}

type Pipeline = ReturnType<RedisClient['pipeline']>;

export interface SeedOptions {
  symbol: string;
  /** Each subscriber's tickers, when not just `symbol` (which the read-back check then uses for subscriber 0). */
  symbolsOf?: (i: number) => readonly string[];
  n: number;
  /** Two digits that keep each seeding's phone numbers apart. */
  series: number;
  mix?: readonly { channel: Channel; share: number }[];
}

/**
 * A batch's pipelines: one on one Redis; on a cluster, where a pipeline must stay in one slot, one
 * per (channel, partition), the hash tag every write of a subscriber has.
 */
function slotPipelines(sys: BenchSystem) {
  const single = sys.clustered ? undefined : sys.redis.pipeline();
  const byTag = new Map<string, Pipeline>();
  return {
    pipelineOf(channel: Channel, partition: number): Pipeline {
      if (single) return single;
      const tag = `${channel}:${partition}`;
      let p = byTag.get(tag);
      if (!p) byTag.set(tag, (p = sys.redis.pipeline()));
      return p;
    },
    exec() {
      return Promise.all((single ? [single] : [...byTag.values()]).map((p) => p.exec()));
    },
  };
}

/**
 * Writes N active subscribers to one symbol (or to `symbolsOf(i)`), as SubscriptionStore.subscribe
 * and touch leave them (the subscriber's record with a field per symbol, their partition's all and active sets, and the due
 * index, which is also who follows what: each (channel, partition, symbol) sorted set scored by
 * the seeding time, as SUBSCRIBE_SCRIPT scores by the time of the subscription, so a price
 * written from then on makes them due), in pipelines. Marks the due index as built for this layout, as a dispatcher
 * does after building it, so a dispatcher started after seeding does not scan everyone again.
 * WhatsApp and Messenger subscribers wrote to us a minute ago, so their 24-hour window is open
 * (free text, not templates or tags). Checks one of them through SubscriptionStore afterwards.
 * On a cluster a pipeline must stay in one slot: there each batch's writes go in a pipeline per
 * (channel, partition), the hash tag every one of them has; on one Redis, one pipeline a batch.
 */
export async function seedSubscribers(sys: BenchSystem, opts: SeedOptions): Promise<{ ids: string[]; byChannel: Record<string, number> }> {
  const { keys, redis } = sys;
  const mix = opts.mix ?? MIX;
  const now = Date.now();
  const ids: string[] = [];
  const byChannel: Record<string, number> = {};
  const BATCH = 2000;
  for (let start = 0; start < opts.n; start += BATCH) {
    const { pipelineOf, exec } = slotPipelines(sys);
    for (let i = start; i < Math.min(opts.n, start + BATCH); i++) {
      const channel = channelAt(i, mix);
      // A UK mobile number (447 and nine digits), which the client's E.164 check accepts.
      const address = `447${String(opts.series).padStart(2, '0')}${String(i).padStart(7, '0')}`;
      const id = subscriberId(channel, address);
      const symbols = opts.symbolsOf?.(i) ?? [opts.symbol];
      const partition = duePartition(id);
      const p = pipelineOf(channel, partition);
      ids.push(id);
      byChannel[channel] = (byChannel[channel] ?? 0) + 1;
      p.hset(keys.subscriber(id), {
        channel,
        address,
        status: 'active',
        createdAt: now,
        updatedAt: now,
        ...(channel === 'whatsapp' || channel === 'messenger' ? { lastInboundAt: now - 60_000 } : {}),
        ...Object.fromEntries(symbols.map((s) => [SYMBOL_FIELD + s, ''])),
      });
      p.sadd(keys.partitionSubscribers(channel, partition), id);
      p.sadd(keys.partitionActive(channel, partition), id);
      for (const symbol of symbols) p.zadd(keys.dueFollowers(channel, partition, symbol), 'NX', now, id);
    }
    const results = await exec();
    const failed = results.flatMap((r) => r ?? []).find(([err]) => err);
    if (failed) throw failed[0]!;
  }
  await redis.set(keys.subscriptionsLayout, SUBSCRIPTIONS_LAYOUT);
  const check = await sys.store.get(ids[0] as `${Channel}:${string}`);
  const first = opts.symbolsOf?.(0)[0] ?? opts.symbol;
  if (check?.status !== 'active' || !check.symbols.includes(first)) throw new Error(`seeding: ${ids[0]} does not read back as subscribed to ${first}`);
  return { ids, byChannel };
}

/** One tick as the ticker makes it (makeTick): the new price written and announced, then the symbol's fan-out job. Returns the tick time. */
export async function tick(sys: BenchSystem, symbol: string, price: number): Promise<{ tickedAt: number; version: number }> {
  const tickedAt = Date.now();
  const [q] = await makeTick(sys, [{ symbol, price }], tickedAt);
  return { tickedAt, version: q!.version };
}

/** Ticks `symbol` every `intervalMs` until `stop()` or `maxTicks`, prices from `priceOf(i)`; bounded by `maxMs`. */
export function tickLoop(sys: BenchSystem, opts: { symbol: string; intervalMs: number; maxTicks: number; maxMs: number; priceOf: (i: number) => number }) {
  const ticks: { price: number; tickedAt: number }[] = [];
  let stopped = false;
  const started = Date.now();
  const done = (async () => {
    for (let i = 0; i < opts.maxTicks && !stopped && Date.now() - started < opts.maxMs; i++) {
      const due = started + i * opts.intervalMs;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      if (stopped) break;
      const price = opts.priceOf(i);
      const { tickedAt } = await tick(sys, opts.symbol, price);
      ticks.push({ price, tickedAt });
    }
  })();
  return {
    ticks,
    done,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** The simulator's business SMS number: where the bench's people write to. */
export const SMS_FROM = '447700900000';

/**
 * One person's SMS as the Messages API's inbound webhook brings it, POSTed to the ingress (which
 * the bench runs taking unsigned webhooks). Returns when it was posted and its inbound job's id.
 */
export async function postInboundSms(sys: BenchSystem, from: string, text: string): Promise<{ at: number; jobId: string }> {
  const body = { channel: 'sms', message_uuid: randomUUID(), to: SMS_FROM, from, timestamp: new Date().toISOString(), message_type: 'text', text };
  const at = Date.now();
  const res = await fetch(`${sys.ingressUrl}/webhooks/inbound`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 200) throw new Error(`inbound webhook: ${res.status} ${await res.text()}`);
  return { at, jobId: inboundJobId({ messageId: body.message_uuid }) };
}

export interface SeedAlertsOptions {
  n: number;
  /** Two digits that keep each seeding's phone numbers apart. */
  series: number;
  /** The symbols and the price each stands at: alerts are set around it. */
  prices: Readonly<Record<string, number>>;
  /** How far from the price the nearest alert is, in percent: ticks that stay closer fire none. */
  awayPct: number;
  mix?: readonly { channel: Channel; share: number }[];
}

/**
 * Writes N active subscribers holding one alert each, as AlertStore.set leaves them: the record
 * with its `alert:` field, the partition's all and active sets, the alert's trigger(s) in the
 * (channel, partition, symbol) sorted sets, and the partition's checked price of the symbol. A
 * third each: a move (ALERT S x%), a price above, a price below, each `awayPct` to 10 × `awayPct`
 * from the symbol's price, over the symbols in turn. In pipelines, one per (channel, partition) on
 * a cluster. Checks one of them through AlertStore afterwards.
 */
export async function seedAlerts(sys: BenchSystem, opts: SeedAlertsOptions): Promise<{ byChannel: Record<string, number> }> {
  const { keys, redis } = sys;
  const mix = opts.mix ?? MIX;
  const symbols = Object.keys(opts.prices);
  const now = Date.now();
  const byChannel: Record<string, number> = {};
  const BATCH = 2000;
  const checked = new Set<string>();
  let first: string | undefined;
  for (let start = 0; start < opts.n; start += BATCH) {
    const { pipelineOf, exec } = slotPipelines(sys);
    for (let i = start; i < Math.min(opts.n, start + BATCH); i++) {
      const channel = channelAt(i, mix);
      const address = `447${String(opts.series).padStart(2, '0')}${String(i).padStart(7, '0')}`;
      const id = subscriberId(channel, address);
      first ??= id;
      const partition = duePartition(id);
      const symbol = symbols[i % symbols.length]!;
      const price = opts.prices[symbol]!;
      const kind = (['move', 'above', 'below'] as const)[Math.floor(i / symbols.length) % 3]!;
      // Spread over awayPct … 10 × awayPct, so the triggers are not all one score.
      const pct = opts.awayPct * (1 + ((i * 7919) % 1000) / 111);
      const level = kind === 'move' ? Math.round(pct * 10) / 10 : Math.round(price * (kind === 'above' ? 1 + pct / 100 : 1 - pct / 100) * 100) / 100;
      const p = pipelineOf(channel, partition);
      byChannel[channel] = (byChannel[channel] ?? 0) + 1;
      p.hset(keys.subscriber(id), {
        channel,
        address,
        status: 'active',
        createdAt: now,
        updatedAt: now,
        ...(channel === 'whatsapp' || channel === 'messenger' ? { lastInboundAt: now - 60_000 } : {}),
        [alertField(symbol, kind)]: encodeAlert({ state: 'armed', urgent: false, level, ...(kind === 'move' ? { base: price } : {}) }),
      });
      p.sadd(keys.partitionSubscribers(channel, partition), id);
      p.sadd(keys.partitionActive(channel, partition), id);
      const member = `${kind}|${id}`;
      if (kind === 'move') {
        const t = moveTriggers(price, level);
        p.zadd(keys.alertTriggers(channel, partition, 'up', symbol), t.up, member);
        p.zadd(keys.alertTriggers(channel, partition, 'down', symbol), t.down, member);
      } else {
        p.zadd(keys.alertTriggers(channel, partition, kind === 'above' ? 'up' : 'down', symbol), level, member);
      }
      const c = `${channel}:${partition}:${symbol}`;
      if (!checked.has(c)) {
        checked.add(c);
        p.hset(keys.alertsChecked(channel, partition), symbol, price);
      }
    }
    const results = await exec();
    const failed = results.flatMap((r) => r ?? []).find(([err]) => err);
    if (failed) throw failed[0]!;
  }
  await redis.set(keys.subscriptionsLayout, SUBSCRIPTIONS_LAYOUT);
  if (first) {
    const held = await new AlertStore(redis, keys).list(first);
    if (held.length !== 1 || held[0]!.state !== 'armed') throw new Error(`seeding alerts: ${first} does not read back with one armed alert`);
  }
  return { byChannel };
}
