import type { FastifyReply, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { simulatorFaultsSchema } from '@tickercast/shared';
import { sendProblem } from './problems.ts';
import type { Random } from './random.ts';

/*
 * Faults on POST /v1/messages, for proving the client and the dispatcher cope: extra latency
 * (with jitter), a fraction of requests answered 500, an outage (every request a 5xx, or its
 * connection reset) and a 429 storm, each of the last two for a number of seconds from when set.
 */

/** What `POST /_sim/faults` (and SIMULATOR_FAULTS) takes; fields given replace the current ones. */
export const faultsInput = simulatorFaultsSchema;
export type FaultsInput = z.infer<typeof faultsInput>;

interface FaultState {
  latencyMs: number;
  jitterMs: number;
  errorRate: number;
  outage?: { until: number; mode: 'error' | 'reset'; status: number };
  storm?: { until: number; retryAfter: number };
}

export interface FaultCounters {
  delayed: number;
  errors: number;
  outageErrors: number;
  resets: number;
  storm: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Faults {
  readonly #now: () => number;
  readonly #random: Random;
  #state: FaultState = { latencyMs: 0, jitterMs: 0, errorRate: 0 };
  #counters: FaultCounters = { delayed: 0, errors: 0, outageErrors: 0, resets: 0, storm: 0 };
  /** False when nothing is set: the hot path checks only this. */
  #any = false;

  constructor(now: () => number, random: Random) {
    this.#now = now;
    this.#random = random;
  }

  set(input: FaultsInput): void {
    const now = this.#now();
    const s = this.#state;
    if (input.latencyMs !== undefined) s.latencyMs = input.latencyMs;
    if (input.jitterMs !== undefined) s.jitterMs = input.jitterMs;
    if (input.errorRate !== undefined) s.errorRate = input.errorRate;
    if (input.outage) {
      s.outage = { until: now + input.outage.seconds * 1000, mode: input.outage.mode ?? 'error', status: input.outage.status ?? 503 };
    }
    if (input.storm) s.storm = { until: now + input.storm.seconds * 1000, retryAfter: input.storm.retryAfter ?? 1 };
    this.#any = s.latencyMs > 0 || s.jitterMs > 0 || s.errorRate > 0 || s.outage !== undefined || s.storm !== undefined;
  }

  clear(): void {
    this.#state = { latencyMs: 0, jitterMs: 0, errorRate: 0 };
    this.#any = false;
  }

  /** What is in force, with the seconds left of an outage or storm. */
  describe(): Record<string, unknown> {
    const now = this.#now();
    const { latencyMs, jitterMs, errorRate, outage, storm } = this.#state;
    return {
      latencyMs,
      jitterMs,
      errorRate,
      outage: outage && outage.until > now ? { mode: outage.mode, status: outage.status, remainingMs: outage.until - now } : null,
      storm: storm && storm.until > now ? { retryAfter: storm.retryAfter, remainingMs: storm.until - now } : null,
    };
  }

  counters(): FaultCounters {
    return { ...this.#counters };
  }

  resetCounters(): void {
    this.#counters = { delayed: 0, errors: 0, outageErrors: 0, resets: 0, storm: 0 };
  }

  /** Applies what is in force to one request; true when the fault answered it (or dropped its connection). */
  async intercept(req: FastifyRequest, reply: FastifyReply): Promise<boolean> {
    if (!this.#any) return false;
    const s = this.#state;
    const delay = s.latencyMs + (s.jitterMs > 0 ? Math.round(this.#random() * s.jitterMs) : 0);
    if (delay > 0) {
      this.#counters.delayed++;
      await sleep(delay);
    }
    const now = this.#now();
    if (s.outage && s.outage.until > now) {
      if (s.outage.mode === 'reset') {
        this.#counters.resets++;
        // No answer at all: the socket goes (app.inject sees "response destroyed before completion").
        reply.hijack();
        reply.raw.destroy();
        req.raw.socket?.destroy();
        return true;
      }
      this.#counters.outageErrors++;
      sendProblem(reply, 'internal', { status: s.outage.status, detail: 'The platform is unavailable (simulated outage).' });
      return true;
    }
    if (s.storm && s.storm.until > now) {
      this.#counters.storm++;
      reply.header('retry-after', String(s.storm.retryAfter));
      sendProblem(reply, 'throttled');
      return true;
    }
    if (s.errorRate > 0 && this.#random() < s.errorRate) {
      this.#counters.errors++;
      sendProblem(reply, 'internal');
      return true;
    }
    return false;
  }
}
