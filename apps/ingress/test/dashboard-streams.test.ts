import { connect, type Socket } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueues, PriceCache, type Queues } from '@tickercast/shared';
import { EventStreams } from '../src/dashboard/event-streams.ts';
import { dashboard } from '../src/dashboard/plugin.ts';
import { snapshotSources, type DashboardSnapshot } from '../src/dashboard/snapshot.ts';
import { testRedis, type TestRedis } from '../../../test/support/redis.ts';

/*
 * The dashboard's event streams against clients that misbehave: real sockets on loopback, a real
 * Redis behind the snapshots. Many symbols make each frame tens of KB and a 5 ms interval makes
 * them fast, so a client that stops reading fills the kernel's buffers within a second.
 */

const SYMBOLS = Array.from({ length: 300 }, (_, i) => `S${i}`);

let t: TestRedis;
let queues: Queues;
const apps: FastifyInstance[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  t = testRedis();
  queues = createQueues(t.redis, t.keys);
  const prices = new PriceCache(t.redis, t.keys);
  for (const s of SYMBOLS) await prices.set(s, 100 + Math.random());
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const app of apps) await app.close();
  await queues.close();
  await t.cleanup();
});

async function serve(streams: EventStreams, symbols = SYMBOLS, intervalMs = 5): Promise<string> {
  const app = Fastify();
  apps.push(app);
  await app.register(dashboard, {
    ...snapshotSources(t.redis, t.keys, queues, symbols, { sms: 30, whatsapp: 30, messenger: 30, viber_service: 30 }),
    intervalMs,
    streams,
  });
  return app.listen({ port: 0, host: '127.0.0.1' });
}

/** A client that asks for the stream and then never reads a byte. */
function stalledClient(base: string): Promise<Socket> {
  const { port } = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1', () => {
      socket.write('GET /dashboard/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n');
      socket.pause();
      resolve(socket);
    });
    sockets.push(socket);
  });
}

/** A client that reads everything, keeping the newest snapshot. */
function readingClient(base: string) {
  const controller = new AbortController();
  const state = { frames: 0, latest: undefined as DashboardSnapshot | undefined, status: 0 };
  const done = (async () => {
    const res = await fetch(`${base}/dashboard/events`, { signal: controller.signal });
    state.status = res.status;
    if (res.status !== 200) return;
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const data = /^data: (.*)$/m.exec(frame);
        if (data) {
          state.frames++;
          state.latest = JSON.parse(data[1]!) as DashboardSnapshot;
        }
      }
    }
  })().catch(() => undefined);
  return { state, stop: () => controller.abort(), done };
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('dashboard event streams', () => {
  it('a client that stops reading costs the server about one frame, not every frame; the others keep getting the newest', async () => {
    const streams = new EventStreams({ stalledAfterMs: 60_000 });
    const base = await serve(streams);
    const stalled = await stalledClient(base);
    const reader = readingClient(base);
    await until('frames skipped for the stalled client', () => streams.stats().skipped >= 50);

    const frames = reader.state.frames;
    const frameBytes = JSON.stringify(reader.state.latest).length;
    expect(frameBytes).toBeGreaterThan(10_000);
    // Unbounded, the server would hold every frame it could not send: 50 and more by now.
    const held = streams.stats().bufferedBytes;
    expect(held).toBeLessThan(3 * frameBytes + 64 * 1024);
    // The reader is served all along, and with fresh snapshots.
    await until('more frames for the reader', () => reader.state.frames > frames + 10);
    expect(Date.now() - reader.state.latest!.at).toBeLessThan(2000);

    // Once the stalled client reads again, it catches up with the newest snapshot, not the backlog.
    let text = '';
    stalled.setEncoding('utf8').on('data', (d: string) => (text += d));
    stalled.resume();
    const resumedAt = Date.now();
    await until('a fresh frame on the resumed client', () => {
      const ats = [...text.matchAll(/"at":(\d+)/g)].map((m) => Number(m[1]));
      return ats.some((at) => at >= resumedAt - 100);
    });
    reader.stop();
  });

  it('a stream that does not read for stalledAfterMs is closed', async () => {
    const streams = new EventStreams({ stalledAfterMs: 300 });
    const base = await serve(streams);
    await stalledClient(base);
    const reader = readingClient(base);
    await until('two streams open', () => streams.stats().open === 2);
    await until('the stalled stream closed', () => streams.stats().closedStalled === 1 && streams.stats().open === 1);
    // The reader is untouched.
    const frames = reader.state.frames;
    await until('the reader still served', () => reader.state.frames > frames + 5);
    reader.stop();
  });

  it('streams are capped per client and in total: past a cap, a 429 with the reason; a closed stream frees its place', async () => {
    const perClient = new EventStreams({ maxStreams: 10, maxPerClient: 2 });
    const base = await serve(perClient, ['S1'], 100);
    const a = readingClient(base);
    const b = readingClient(base);
    await until('two open', () => perClient.stats().open === 2);
    const refused = await fetch(`${base}/dashboard/events`);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(await refused.json()).toEqual({ error: 'too many dashboard streams', reason: 'at most 2 dashboard streams per client' });
    a.stop();
    await until('one open', () => perClient.stats().open === 1);
    const c = readingClient(base);
    await until('c served', () => c.state.frames > 0);
    expect(perClient.stats()).toMatchObject({ open: 2, refused: 1 });
    b.stop();
    c.stop();

    const total = new EventStreams({ maxStreams: 1, maxPerClient: 5 });
    const base2 = await serve(total, ['S1'], 100);
    const d = readingClient(base2);
    await until('one open', () => total.stats().open === 1);
    const full = await fetch(`${base2}/dashboard/events`);
    expect(full.status).toBe(429);
    expect(((await full.json()) as { reason: string }).reason).toBe('the dashboard has 1 viewers already');
    d.stop();
  });
});
