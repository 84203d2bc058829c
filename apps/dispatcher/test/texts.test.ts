import { describe, expect, it } from 'vitest';
import { CHANNEL_RULES, CHANNELS, loadConfig } from '@tickercast/shared';
import { badQuietText, badTimeZoneText, helpText, listText, priceLine, quietSetText, subscribedText, timeZoneSetText, unknownSymbolsText } from '../src/texts.ts';

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

describe('quiet hours in the texts (issue 16)', () => {
  const quiet = { startMin: 22 * 60, endMin: 7 * 60 };
  const offered = loadConfig({}).TICKER_SYMBOLS;

  it('LIST shows the quiet hours with their zone, and UTC when there is none', () => {
    expect(listText(['MSFT'], new Map(), offered, undefined, { quiet, timeZone: 'Europe/London' })).toContain('\nQuiet 22:00-07:00 (Europe/London).');
    expect(listText([], new Map(), offered, undefined, { quiet: { startMin: 30, endMin: 6 * 60 + 15 } })).toContain('Quiet 00:30-06:15 (UTC).');
    expect(listText(['MSFT'], new Map(), offered)).not.toContain('Quiet');
  });

  it('HELP names QUIET and TZ, or the quiet hours the person has and how to end them', () => {
    expect(helpText(offered, 'sms')).toContain('QUIET 22-07');
    expect(helpText(offered, 'sms')).toContain('TZ Europe/London');
    const own = helpText(offered, 'sms', undefined, { quiet, timeZone: 'America/Chicago' });
    expect(own).toContain('Quiet 22:00-07:00 (America/Chicago). QUIET OFF ends them');
  });

  it('every help and quiet-hours reply fits the reply limit of its channel, with the default tickers and every setting shown', () => {
    const fallback = { channel: 'sms' as const, address: '447700900123' };
    for (const channel of CHANNELS) {
      const max = CHANNEL_RULES[channel].replyTextMax;
      const texts = [
        helpText(offered, channel),
        helpText(offered, channel, fallback, { quiet, timeZone: 'America/Argentina/ComodRivadavia' }),
        listText(offered, new Map(), offered, fallback, { quiet, timeZone: 'America/Argentina/ComodRivadavia' }),
        quietSetText(quiet, { from: 'number', guess: { zone: 'America/New_York', country: 'United States of America', alternative: 'America/Chicago' } }),
        quietSetText(quiet, { from: 'none' }),
        badQuietText('"22:75" is not a time of day'),
        badTimeZoneText(`"${'X'.repeat(40)}…" is not a time zone`),
        timeZoneSetText('America/Argentina/ComodRivadavia', '23:05', quiet),
      ];
      for (const text of texts) expect(text.length, `${channel}: ${text}`).toBeLessThanOrEqual(max);
    }
  });

  it('the confirmation says which zone was taken, from where, and how to name another', () => {
    expect(quietSetText(quiet, { from: 'number', guess: { zone: 'America/New_York', country: 'United States of America', alternative: 'America/Chicago' } })).toBe(
      'Quiet 22:00-07:00 (America/New_York). No updates then; the first one after carries the latest prices. QUIET OFF ends them.\n' +
        'Time zone from your number (United States of America). Elsewhere? Send your zone, e.g. TZ America/Chicago.',
    );
    expect(quietSetText(quiet, { from: 'none' })).toContain('these are UTC times. Send yours, e.g. TZ Europe/London.');
    expect(quietSetText(quiet, { from: 'theirs', zone: 'Asia/Tokyo' })).toBe('Quiet 22:00-07:00 (Asia/Tokyo). No updates then; the first one after carries the latest prices. QUIET OFF ends them.');
  });
});
