import type { FastifyInstance } from 'fastify';
import { createQueues, type Channel, type Queues } from '@tickercast/shared';
import { buildIngress } from '../../apps/ingress/src/app.ts';
import type { ConversationEntry } from '../../apps/simulator/src/store.ts';
import { testDispatcher, type TestDispatcher, type TestDispatcherOptions } from './dispatcher.ts';
import { until } from './processes.ts';
import type { TestRedis } from './redis.ts';
import { startSimulator, type RunningSimulator } from './simulator.ts';

/**
 * The three parts a person's message goes through, in this process, over real HTTP: the
 * simulator's phones post their webhooks (inbound and status) to an ingress listening on a free
 * port, which queues them in the test's Redis for a dispatcher that sends to the simulator.
 */
export interface TestSystem {
  sim: RunningSimulator;
  ingress: FastifyInstance;
  d: TestDispatcher;
  /** A phone texts the business, as a person on the simulator's phone page would. */
  text(channel: Channel, from: string, text: string): Promise<void>;
  /** What the phone shows: what reached it and what it sent. */
  conversation(channel: Channel, number: string): Promise<ConversationEntry[]>;
  /** What the business sent to a phone, as it shows there, oldest first. */
  shown(channel: Channel, number: string): Promise<string[]>;
  /** The phone texts, and waits for the next message the business sends it: answers it. */
  says(channel: Channel, number: string, text: string): Promise<string>;
  close(): Promise<void>;
}

export async function startSystem(t: TestRedis, opts: TestDispatcherOptions = {}): Promise<TestSystem> {
  const keys = t.keys;
  const queues: Queues = createQueues(t.redis, keys);
  const ingress = buildIngress({ queues, redis: t.redis, keys, symbols: opts.offered ?? ['MSFT', 'GOOGL'] });
  const ingressUrl = await ingress.listen({ port: 0, host: '127.0.0.1' });
  const sim = await startSimulator(ingressUrl);
  const d = await testDispatcher(t, sim, opts);
  const system: TestSystem = {
    sim,
    ingress,
    d,
    async text(channel, from, text) {
      const res = await sim.app.inject({ method: 'POST', url: `/_sim/phones/${channel}/${from}/send`, payload: { text } });
      if (res.statusCode >= 300) throw new Error(`the phone could not send: ${res.statusCode} ${res.body}`);
    },
    async conversation(channel, number) {
      const res = await sim.app.inject({ method: 'GET', url: `/_sim/phones/${channel}/${number}` });
      return res.json<{ conversation: ConversationEntry[] }>().conversation;
    },
    async shown(channel, number) {
      return (await system.conversation(channel, number)).filter((e) => e.direction === 'out').map((e) => e.text);
    },
    async says(channel, number, text) {
      const before = (await system.shown(channel, number)).length;
      await system.text(channel, number, text);
      return until(`the answer to ${text}`, async () => (await system.shown(channel, number))[before]);
    },
    async close() {
      await d.close();
      await sim.close();
      await ingress.close();
      await queues.close();
    },
  };
  return system;
}

/** The harness' polling wait, for the tests built on this system. */
export { until } from './processes.ts';
