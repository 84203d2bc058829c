import { describe, expect, it } from 'vitest';
import { helpText, priceLine, subscribedText, unknownSymbolsText } from '../src/texts.ts';

describe('priceLine', () => {
  it('names the ticker, two decimals, and the change since the previous update', () => {
    expect(priceLine('MSFT', 412.35, 411.15)).toBe('MSFT 412.35 ▲ +1.20 (+0.29%)');
    expect(priceLine('MSFT', 410, 412.35)).toBe('MSFT 410.00 ▼ -2.35 (-0.57%)');
  });

  it('shows only the price when there is nothing to compare with', () => {
    expect(priceLine('GOOGL', 171.2)).toBe('GOOGL 171.20');
  });

  it('fits one UCS-2 SMS segment (70 characters) even for long tickers and large prices', () => {
    expect(priceLine('BRK.A', 712345.67, 1.23).length).toBeLessThanOrEqual(70);
  });
});

describe('helpText', () => {
  it('lists the commands and every ticker on offer', () => {
    const text = helpText(['MSFT', 'GOOGL']);
    for (const word of ['MSFT', 'GOOGL', 'STOP', 'LIST', 'START', 'HELP']) expect(text).toContain(word);
  });
});

describe('tickers not on offer (issue 19 item 10)', () => {
  const unknown = Array.from({ length: 300 }, (_, i) => `Q${i}`);

  it('a reply names at most ten of them and counts the rest', () => {
    for (const text of [subscribedText(['MSFT'], new Map(), unknown, ['MSFT']), unknownSymbolsText(unknown, ['MSFT'])]) {
      expect(text).toContain('Q0, Q1, Q2, Q3, Q4, Q5, Q6, Q7, Q8, Q9 and 290 more');
      expect(text).not.toContain('Q10');
      expect(text.length).toBeLessThan(200);
    }
  });

  it('a few are all named', () => {
    expect(subscribedText(['MSFT'], new Map(), ['IBM', 'ORCL'], ['MSFT'])).toContain('Not on offer: IBM, ORCL.');
  });
});
