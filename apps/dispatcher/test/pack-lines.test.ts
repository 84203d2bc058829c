import { describe, expect, it } from 'vitest';
import { packLines, TICKER_SEPARATOR } from '../src/send.ts';

describe('packLines: the tickers of one feed turn, split only where the length limit requires', () => {
  const line = (s: string) => `${s} 412.35 ▲ +1.20 (+0.29%)`;

  it('puts every ticker in one message when they fit', () => {
    const lines = ['GOOGL', 'MSFT', 'AAPL'].map(line);
    expect(packLines(lines, 1000)).toEqual([[0, 1, 2]]);
    expect(lines.join(TICKER_SEPARATOR).length).toBeLessThan(1000);
  });

  it('starts a new message only when the next ticker would pass the limit, keeping the order', () => {
    const lines = Array.from({ length: 40 }, (_, i) => line(`S${String(i).padStart(3, '0')}`));
    const groups = packLines(lines, 160);
    expect(groups.flat()).toEqual(lines.map((_, i) => i));
    for (const g of groups) expect(g.map((i) => lines[i]).join(TICKER_SEPARATOR).length).toBeLessThanOrEqual(160);
    // Greedy: no message could have taken the next ticker too.
    for (let k = 0; k + 1 < groups.length; k++) {
      const withNext = [...groups[k]!, groups[k + 1]![0]!].map((i) => lines[i]).join(TICKER_SEPARATOR);
      expect(withNext.length).toBeGreaterThan(160);
    }
  });

  it('a ticker longer than the limit is a message of its own', () => {
    expect(packLines(['x'.repeat(50), 'y'.repeat(5), 'z'.repeat(5)], 20)).toEqual([[0], [1, 2]]);
    expect(packLines([], 20)).toEqual([]);
  });
});
