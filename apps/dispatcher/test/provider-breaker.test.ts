import { describe, expect, it } from 'vitest';
import { ProviderBreaker } from '../src/provider-breaker.ts';

describe('ProviderBreaker', () => {
  it('lets the first failures spend attempts, then rests for doubling times up to the cap, until an answer', () => {
    const b = new ProviderBreaker({ threshold: 3, baseMs: 250, maxMs: 2000 });
    expect([b.failed(), b.failed()]).toEqual([undefined, undefined]);
    expect(b.open).toBe(false);
    expect([b.failed(), b.failed(), b.failed(), b.failed(), b.failed()]).toEqual([250, 500, 1000, 2000, 2000]);
    expect(b.open).toBe(true);
    expect(b.answered()).toBe(true);
    expect(b.open).toBe(false);
    expect(b.failed()).toBeUndefined();
    expect(b.answered()).toBe(false);
  });

  it('stays capped however long the outage', () => {
    const b = new ProviderBreaker({ threshold: 1, baseMs: 250, maxMs: 5000 });
    let last: number | undefined;
    for (let i = 0; i < 10_000; i++) last = b.failed();
    expect(last).toBe(5000);
  });
});
