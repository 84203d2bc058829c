import { describe, expect, it } from 'vitest';
import { pacedLimiter, RATE_JITTER_MS } from '@tickercast/shared';

/** The most sends that pacing lets into any rolling second, with arrivals up to `jitter` ms late. */
function worstRollingSecond({ max, duration }: { max: number; duration: number }, jitter: number): number {
  const span = 1000 + jitter;
  return max === 1 ? Math.floor(span / duration) + 1 : max * (Math.ceil(span / duration) + 1);
}

describe('pacedLimiter', () => {
  it('never lets more than the rate into a rolling second, jitter included, for every rate from 1 to 3000', () => {
    for (let rate = 1; rate <= 3000; rate++) {
      expect(worstRollingSecond(pacedLimiter(rate), RATE_JITTER_MS), `rate ${rate}`).toBeLessThanOrEqual(rate);
    }
  });

  it('spreads ordinary rates evenly, one send per window', () => {
    expect(pacedLimiter(30)).toEqual({ max: 1, duration: 35 });
    expect(pacedLimiter(20)).toEqual({ max: 1, duration: 52 });
  });

  it('keeps at least 90% of the rate', () => {
    for (const rate of [1, 5, 10, 20, 30, 50, 80, 100, 250, 1000, 10_000]) {
      const { max, duration } = pacedLimiter(rate);
      expect((max * 1000) / duration / rate, `rate ${rate}`).toBeGreaterThanOrEqual(0.9);
    }
  });
});
