import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { INBOUND_TEXT_MAX, inboundMessageSchema } from '@tickercast/shared';
import { COMMAND_TEXT_MAX, OPT_OUT_WORDS, parseCommand, type Command } from '../src/commands.ts';

const offered = new Set(['MSFT', 'GOOGL', 'AAPL']);
const parse = (t: string) => parseCommand(t, offered);

describe('parseCommand', () => {
  it.each(['HELP', 'help', 'Help!', 'info', '', '   ', 'hello', 'hi there', 'what can you do?'])('"%s" asks for help', (t) => {
    expect(parse(t)).toEqual({ kind: 'help' });
  });

  it('a ticker, in any case and with punctuation, subscribes', () => {
    expect(parse('msft')).toEqual({ kind: 'subscribe', symbols: ['MSFT'], unknown: [] });
    expect(parse('MSFT!')).toEqual({ kind: 'subscribe', symbols: ['MSFT'], unknown: [] });
    expect(parse('please send me msft, googl')).toEqual({ kind: 'subscribe', symbols: ['MSFT', 'GOOGL'], unknown: [] });
  });

  it('several tickers subscribe to each once, and unknown ones are reported', () => {
    expect(parse('msft googl msft IBM')).toEqual({ kind: 'subscribe', symbols: ['MSFT', 'GOOGL'], unknown: ['IBM'] });
  });

  it('a lone unknown ticker is answered with what is on offer', () => {
    expect(parse('IBM')).toEqual({ kind: 'unknown-symbols', unknown: ['IBM'] });
  });

  it.each(['STOP', 'stop', 'Stop.', 'STOPALL', 'unsubscribe', 'CANCEL', 'end', 'QUIT', 'stop all', 'STOP please'])(
    '"%s" ends every subscription',
    (t) => {
      expect(parse(t)).toEqual({ kind: 'stop-all' });
    },
  );

  it('STOP with a ticker drops just that one', () => {
    expect(parse('stop msft')).toEqual({ kind: 'stop', symbols: ['MSFT'], unknown: [] });
    expect(parse('STOP MSFT GOOGL')).toEqual({ kind: 'stop', symbols: ['MSFT', 'GOOGL'], unknown: [] });
  });

  it('an opt-out word other than STOP always ends everything, even with a ticker', () => {
    expect(parse('cancel msft')).toEqual({ kind: 'stop-all' });
  });

  it('EVERY sets an interval, in seconds, minutes or hours; OFF clears it; nonsense is refused', () => {
    expect(parse('EVERY 5m')).toEqual({ kind: 'every', intervalMs: 300_000 });
    expect(parse('every 5 min')).toEqual({ kind: 'every', intervalMs: 300_000 });
    expect(parse('Every 30s')).toEqual({ kind: 'every', intervalMs: 30_000 });
    expect(parse('EVERY 1 hour')).toEqual({ kind: 'every', intervalMs: 3_600_000 });
    expect(parse('EVERY 10')).toEqual({ kind: 'every', intervalMs: 600_000 });
    expect(parse('every off')).toEqual({ kind: 'every', intervalMs: null });
    for (const t of ['EVERY', 'EVERY 1s', 'EVERY 3 days', 'EVERY soon', 'EVERY 25h']) expect(parse(t)).toEqual({ kind: 'bad-every' });
  });

  it('START resumes and LIST lists', () => {
    expect(parse('start')).toEqual({ kind: 'start' });
    expect(parse('LIST')).toEqual({ kind: 'list' });
  });
});

describe('hostile text (issue 19, items 3 and 11)', () => {
  // The shapes that made the old dot-trimming regex backtrack, and NFKC's widest expansion (U+FDFA → 18 characters).
  const shapes: [string, (n: number) => string][] = [
    ['a word of dots between two letters', (n) => `a${'.'.repeat(n - 2)}a`],
    ['dots and letters alternating', (n) => '.a'.repeat(n / 2)],
    ['one long word', (n) => 'A'.repeat(n)],
    ['the widest NFKC expansion', (n) => '\uFDFA'.repeat(n)],
    ['zero-width spaces, then STOP', (n) => `${'\u200B'.repeat(n - 4)}STOP`],
  ];

  it.each(shapes)('the largest text a job can carry, as %s, is parsed at once', (_, make) => {
    const text = make(INBOUND_TEXT_MAX);
    expect(inboundMessageSchema.shape.text.safeParse(text).success).toBe(true);
    const started = performance.now();
    parse(text);
    // Linear work on at most INBOUND_TEXT_MAX characters takes a few milliseconds; the bound is generous for a busy machine.
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a text longer than any job can carry is read only as far as a command needs', () => {
    const started = performance.now();
    expect(parse(`MSFT a${'.'.repeat(200_000)}a`)).toEqual({ kind: 'subscribe', symbols: ['MSFT'], unknown: [] });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('the parser reads COMMAND_TEXT_MAX characters, and a word cut at the end is not read as a ticker', () => {
    const filler = 'hello '.repeat(Math.ceil(COMMAND_TEXT_MAX / 6));
    const cut = filler.slice(0, COMMAND_TEXT_MAX - 2);
    expect(parse(`${cut}MSFT`)).toEqual({ kind: 'help' });
    expect(parse(`${filler}MSFT`)).toEqual({ kind: 'help' });
    expect(parse(`${'hello '.repeat(10)}MSFT`)).toEqual({ kind: 'subscribe', symbols: ['MSFT'], unknown: [] });
  });

  it('leading blanks and punctuation do not push a STOP out of what is read', () => {
    expect(parse(`${' '.repeat(5000)}${'!'.repeat(4000)}\n\u200B STOP`)).toEqual({ kind: 'stop-all' });
  });

  it.each(['ＳＴＯＰ', 'S\u200bTOP', 'ST\u200cOP', 'STO\u200dP', '\uFEFFSTOP', 'S\u2060TOP', 'S\u00ADTOP', 'S\u0000TOP', 'ST\u0007OP', 'S\u202ETOP', 'ｓｔｏｐ', 'Ｓtop', 'STÓP', 'S\u0301TOP', '\u3000STOP'])(
    '%j is an opt-out',
    (t) => {
      expect(parse(t)).toEqual({ kind: 'stop-all' });
    },
  );

  it('ＳＴＯＰ ＭＳＦＴ (fullwidth, ideographic space) drops MSFT', () => {
    expect(parse('ＳＴＯＰ\u3000ＭＳＦＴ')).toEqual({ kind: 'stop', symbols: ['MSFT'], unknown: [] });
  });

  /** Characters a phone, a keyboard or a copy-paste can slip into a word without changing how it looks. */
  const invisible = fc.constantFrom('\u200B', '\u200C', '\u200D', '\u2060', '\uFEFF', '\u00AD', '\u180E', '\u200E', '\u200F', '\u202A', '\u202C', '\u2066', '\u2069', '\u0000', '\u0001', '\u001F', '\u007F', '\u0080', '\u009F');
  const toFullwidth = (c: string) => String.fromCharCode(c.charCodeAt(0) + 0xfee0);
  const blank = fc.constantFrom(' ', '  ', '\n', '\t', '\u00A0', '\u3000', '\u2003', '\r\n');
  const punctuation = fc.constantFrom('', '.', '!', '!!', '...', '?', '"', '*', '…', '。', '！');

  /** An opt-out word as a person might really send it: any case, fullwidth or not, invisible characters anywhere. */
  const disguised = (word: string) =>
    fc
      .tuple(
        fc.array(fc.tuple(fc.boolean(), fc.boolean(), fc.array(invisible, { maxLength: 3 })), { minLength: word.length, maxLength: word.length }),
        fc.array(fc.oneof(blank, invisible), { maxLength: 4 }),
        punctuation,
        punctuation,
      )
      .map(([letters, before, open, close]) => {
        const body = [...word]
          .map((c, i) => {
            const [lower, wide, noise] = letters[i]!;
            const cased = lower ? c.toLowerCase() : c;
            return (wide ? toFullwidth(cased) : cased) + noise.join('');
          })
          .join('');
        return `${before.join('')}${open}${body}${close}`;
      });

  it('every opt-out word, however disguised, ends every subscription', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...OPT_OUT_WORDS).chain((w) => disguised(w)),
        fc.constantFrom('', ' please', ' all', '\nthanks', ' it'),
        (text, tail) => {
          expect(parse(text + tail)).toEqual({ kind: 'stop-all' });
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a disguised STOP with a disguised ticker drops that ticker', () => {
    fc.assert(
      fc.property(disguised('STOP'), blank, disguised('MSFT'), (stop, gap, msft) => {
        expect(parse(`${stop}${gap}${msft}`)).toEqual({ kind: 'stop', symbols: ['MSFT'], unknown: [] });
      }),
      { numRuns: 1000 },
    );
  });

  it('disguised tickers subscribe like plain ones', () => {
    fc.assert(
      fc.property(disguised('GOOGL'), (t) => {
        expect(parse(t)).toEqual({ kind: 'subscribe', symbols: ['GOOGL'], unknown: [] });
      }),
      { numRuns: 500 },
    );
  });
});

describe('FALLBACK', () => {
  const offered = new Set(['MSFT', 'GOOGL']);
  it.each<[string, Command]>([
    ['FALLBACK SMS', { kind: 'fallback', number: undefined }],
    ['fallback sms', { kind: 'fallback', number: undefined }],
    ['Fallback text', { kind: 'fallback', number: undefined }],
    ['FALLBACK SMS +447700900123', { kind: 'fallback', number: '447700900123' }],
    ['FALLBACK SMS +44 7700 900123', { kind: 'fallback', number: '447700900123' }],
    ['FALLBACK SMS 0044 7700 900123', { kind: 'fallback', number: '447700900123' }],
    ['FALLBACK SMS (+44) 7700-900123', { kind: 'fallback', number: '447700900123' }],
    ['FALLBACK OFF', { kind: 'fallback-off' }],
    ['fallback off.', { kind: 'fallback-off' }],
    ['FALLBACK', { kind: 'bad-fallback', problem: 'FALLBACK needs a channel' }],
    ['FALLBACK WHATSAPP', { kind: 'bad-fallback', problem: '"WHATSAPP" is not a fallback we offer (only SMS)' }],
    ['FALLBACK MSFT', { kind: 'bad-fallback', problem: '"MSFT" is not a fallback we offer (only SMS)' }],
    ['FALLBACK SMS my number', { kind: 'bad-fallback', problem: '"MY NUMBER" is not a phone number' }],
    ['FALLBACK SMS 12345', { kind: 'bad-fallback', problem: '"12345" is not a phone number with its country code' }],
    ['FALLBACK SMS 4477009001234567890', { kind: 'bad-fallback', problem: '"4477009001234567890" is not a phone number with its country code' }],
    ['FALLBACK OFF NOW', { kind: 'bad-fallback', problem: '"NOW" after FALLBACK OFF' }],
  ])('%s', (text, expected) => {
    expect(parseCommand(text, offered)).toEqual(expected);
  });

  it('is a command only as the first word: "MSFT FALLBACK SMS" subscribes', () => {
    expect(parseCommand('MSFT FALLBACK SMS', offered)).toMatchObject({ kind: 'subscribe', symbols: ['MSFT'] });
  });

  it('no FALLBACK text throws, whatever follows it, and each is one of its answers', () => {
    const piece = fc.constantFrom('SMS', 'OFF', '+', '44', '7700', '900123', '00', 'ＳＭＳ', '\u200b', '....', '-', 'x'.repeat(700), '9'.repeat(40), '🙂', 'TEXT', ' ');
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, fc.string({ maxLength: 20 })), { maxLength: 8 }), (words) => {
        const kind = parseCommand(`FALLBACK ${words.join(' ')}`, offered).kind;
        expect(['fallback', 'fallback-off', 'bad-fallback']).toContain(kind);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('QUIET and TZ (issue 16: quiet hours)', () => {
  const offered = new Set(['MSFT', 'GOOGL']);
  const q = (startH: number, startM: number, endH: number, endM: number): Command => ({ kind: 'quiet', startMin: startH * 60 + startM, endMin: endH * 60 + endM });
  it.each<[string, Command]>([
    ['QUIET 22-07', q(22, 0, 7, 0)],
    ['quiet 22-7', q(22, 0, 7, 0)],
    ['QUIET 22:30-07:00', q(22, 30, 7, 0)],
    ['Quiet 22.30 - 6.45', q(22, 30, 6, 45)],
    ['QUIET 10PM-7AM', q(22, 0, 7, 0)],
    ['quiet 10 pm - 7 am', q(22, 0, 7, 0)],
    ['quiet 10:30pm to 6:15am', q(22, 30, 6, 15)],
    ['QUIET from 11p.m. until 7a.m.', q(23, 0, 7, 0)],
    ['QUIET 12AM-6AM', q(0, 0, 6, 0)],
    ['QUIET 9AM-12PM', q(9, 0, 12, 0)],
    ['QUIET 2230-0700', q(22, 30, 7, 0)],
    ['QUIET 22h-7h', q(22, 0, 7, 0)],
    ['QUIET 22 7', q(22, 0, 7, 0)],
    ['QUIET 10PM 7AM', q(22, 0, 7, 0)],
    ['QUIET 18-24', q(18, 0, 0, 0)],
    ['QUIET midnight-noon', q(0, 0, 12, 0)],
    ['QUIET 22–07', q(22, 0, 7, 0)],
    ['ＱＵＩＥＴ ２２：００－０７：００', q(22, 0, 7, 0)],
    ['QUIET 22-07!', q(22, 0, 7, 0)],
    ['QUIET OFF', { kind: 'quiet-off' }],
    ['quiet off.', { kind: 'quiet-off' }],
    ['QUIET', { kind: 'bad-quiet', problem: 'QUIET needs the hours' }],
    ['QUIET 22', { kind: 'bad-quiet', problem: '"22" needs a start and an end' }],
    ['QUIET 25-07', { kind: 'bad-quiet', problem: '"25" is not an hour of the day' }],
    ['QUIET 22:75-07', { kind: 'bad-quiet', problem: '"22:75" is not a time of day' }],
    ['QUIET 13PM-7AM', { kind: 'bad-quiet', problem: '"13PM": with AM or PM the hour is 1 to 12' }],
    ['QUIET 7-7', { kind: 'bad-quiet', problem: 'the quiet hours start and end at the same time' }],
    ['QUIET tonight-tomorrow', { kind: 'bad-quiet', problem: '"TONIGHT" is not a time of day' }],
    ['QUIET 22-07 please', { kind: 'bad-quiet', problem: '"07 PLEASE" is not a time of day' }],
    ['QUIET ON', { kind: 'bad-quiet', problem: '"ON" needs a start and an end' }],
  ])('%s', (text, expected) => {
    expect(parseCommand(text, offered)).toEqual(expected);
  });

  it.each<[string, Command]>([
    ['TZ Europe/London', { kind: 'time-zone', zone: 'Europe/London' }],
    ['TZ OFF', { kind: 'time-zone-off' }],
    ['timezone off', { kind: 'time-zone-off' }],
    ['tz europe/london', { kind: 'time-zone', zone: 'Europe/London' }],
    ['TZ America/Chicago', { kind: 'time-zone', zone: 'America/Chicago' }],
    ['TZ Chicago', { kind: 'time-zone', zone: 'America/Chicago' }],
    ['tz new york', { kind: 'time-zone', zone: 'America/New_York' }],
    // Intl's own spelling (CLDR's), whichever IANA name was typed.
    ['TZ America/Argentina/Buenos_Aires', { kind: 'time-zone', zone: 'America/Buenos_Aires' }],
    ['TIMEZONE utc', { kind: 'time-zone', zone: 'UTC' }],
    ['TZ Etc/GMT+5', { kind: 'time-zone', zone: 'Etc/GMT+5' }],
    ['TZ', { kind: 'bad-time-zone', problem: 'TZ needs a time zone' }],
    ['TZ Mars/Olympus', { kind: 'bad-time-zone', problem: '"MARS/OLYMPUS" is not a time zone we know' }],
    ['TZ +01:00', { kind: 'bad-time-zone', problem: '"+01:00" is not a time zone' }],
    ['TZ Europe/London; DROP', { kind: 'bad-time-zone', problem: '"EUROPE/LONDON; DROP" is not a time zone' }],
  ])('%s', (text, expected) => {
    expect(parseCommand(text, offered)).toEqual(expected);
  });

  it('are commands only as the first word: "MSFT QUIET 22-07" subscribes', () => {
    expect(parseCommand('MSFT QUIET 22-07', offered)).toMatchObject({ kind: 'subscribe', symbols: ['MSFT'] });
  });

  it('no QUIET or TZ text throws, whatever follows, and each is one of its answers; a quiet window is two different minutes of the day', () => {
    const piece = fc.constantFrom('22', '07', '7', ':', '-', '–', 'TO', 'PM', 'AM', 'a.m.', 'OFF', 'FROM', '24', '99', '0700', '/', 'Europe', 'London', '\u200b', 'ＱＵＩＥＴ', '.', 'x'.repeat(700), '9'.repeat(40), '🙂', ' ', '\n');
    fc.assert(
      fc.property(fc.constantFrom('QUIET', 'quiet', 'TZ', 'timezone'), fc.array(fc.oneof(piece, fc.string({ maxLength: 20 })), { maxLength: 8 }), fc.constantFrom('', ' ', '-'), (word, pieces, glue) => {
        const command = parseCommand(`${word} ${pieces.join(glue)}`, offered);
        if (word.toUpperCase() === 'QUIET') expect(['quiet', 'quiet-off', 'bad-quiet']).toContain(command.kind);
        else expect(['time-zone', 'time-zone-off', 'bad-time-zone']).toContain(command.kind);
        if (command.kind === 'quiet') {
          for (const m of [command.startMin, command.endMin]) expect(Number.isInteger(m) && m >= 0 && m < 24 * 60).toBe(true);
          expect(command.startMin).not.toBe(command.endMin);
        }
        if (command.kind === 'time-zone') expect(() => new Intl.DateTimeFormat('en', { timeZone: command.zone })).not.toThrow();
        if (command.kind === 'bad-quiet' || command.kind === 'bad-time-zone') expect(command.problem.length).toBeLessThan(120);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('ALERT', () => {
  const offered = new Set(['MSFT', 'GOOGL', 'BRK.B']);
  const alert = (symbol: string, rule: 'move' | 'above' | 'below', level: number, urgent = false): Command => ({ kind: 'alert', symbol, rule, level, urgent });
  it.each<[string, Command]>([
    ['ALERT MSFT 2%', alert('MSFT', 'move', 2)],
    ['alert msft 2 %', alert('MSFT', 'move', 2)],
    ['ALERT MSFT 2.5 percent', alert('MSFT', 'move', 2.5)],
    ['ALERT MSFT .5%', alert('MSFT', 'move', 0.5)],
    ['Alert me when MSFT moves 3%!', alert('MSFT', 'move', 3)],
    ['ALERT MSFT ２％', alert('MSFT', 'move', 2)],
    ['ALERT MSFT > 420', alert('MSFT', 'above', 420)],
    ['ALERT MSFT >420.50', alert('MSFT', 'above', 420.5)],
    ['alert msft above 420', alert('MSFT', 'above', 420)],
    ['ALERT MSFT ≥ 420', alert('MSFT', 'above', 420)],
    ['ALERT MSFT ＞ 420', alert('MSFT', 'above', 420)],
    ['ALERT MSFT > 1,000', alert('MSFT', 'above', 1000)],
    ['ALERT MSFT < 400', alert('MSFT', 'below', 400)],
    ['ALERT MSFT below $400', alert('MSFT', 'below', 400)],
    ['ALERT MSFT goes under 400', alert('MSFT', 'below', 400)],
    ['ALERT MSFT > 420 NOW', alert('MSFT', 'above', 420, true)],
    ['ALERT MSFT 2% now', alert('MSFT', 'move', 2, true)],
    ['ALERT NOW GOOGL < 150', alert('GOOGL', 'below', 150, true)],
    ['ALERT MSFT OFF NOW', { kind: 'bad-alert', problem: '"OFF" after ALERT MSFT' }],
    ['ALERT BRK.B 1%', alert('BRK.B', 'move', 1)],
    ['ALERT OFF MSFT', { kind: 'alert-off', symbols: ['MSFT'] }],
    ['ALERT OFF MSFT GOOGL', { kind: 'alert-off', symbols: ['MSFT', 'GOOGL'] }],
    ['alert off', { kind: 'alert-off', symbols: [] }],
    ['ALERT MSFT OFF', { kind: 'alert-off', symbols: ['MSFT'] }],
    ['ALERT MSFT 2', { kind: 'bad-alert', problem: 'ALERT MSFT 2', suggestion: 'ALERT MSFT 2%' }],
    ['ALERT MSFT 2 NOW', { kind: 'bad-alert', problem: 'ALERT MSFT 2 NOW', suggestion: 'ALERT MSFT 2% NOW' }],
    ['ALERT MSFT 420', { kind: 'bad-alert', problem: 'ALERT MSFT 420', suggestion: 'ALERT MSFT > 420 or ALERT MSFT < 420' }],
    ['ALERT', { kind: 'bad-alert', problem: 'ALERT needs a ticker and a move or a price' }],
    ['ALERT MSFT', { kind: 'bad-alert', problem: 'ALERT MSFT needs a move (ALERT MSFT 2%) or a price (ALERT MSFT > 420)' }],
    ['ALERT IBM 2%', { kind: 'bad-alert', problem: 'IBM is not a ticker on offer' }],
    ['ALERT 2%', { kind: 'bad-alert', problem: '"2" is not a ticker' }],
    ['ALERT MSFT 0%', { kind: 'bad-alert', problem: 'a move of 0% (from 0.1% to 50%)' }],
    ['ALERT MSFT 75%', { kind: 'bad-alert', problem: 'a move of 75% (from 0.1% to 50%)' }],
    ['ALERT MSFT > 0', { kind: 'bad-alert', problem: '0 is not a price to alert on' }],
    ['ALERT MSFT >', { kind: 'bad-alert', problem: 'ALERT MSFT > needs a price, e.g. ALERT MSFT > 420' }],
    ['ALERT MSFT < soon', { kind: 'bad-alert', problem: 'ALERT MSFT < needs a price, e.g. ALERT MSFT < 420' }],
    ['ALERT MSFT > 420 < 400', { kind: 'bad-alert', problem: '"> 420 < 400" after ALERT MSFT' }],
    ['ALERT MSFT 2% 3%', { kind: 'bad-alert', problem: '"2 % 3 %" after ALERT MSFT' }],
    ['ALERT OFF IBM', { kind: 'bad-alert', problem: '"IBM" after ALERT OFF is not a ticker on offer' }],
  ])('%s', (text, expected) => {
    expect(parseCommand(text, offered)).toEqual(expected);
  });

  it('is a command only as the first word: "MSFT ALERT 2%" subscribes, and %, > and < change no other command', () => {
    expect(parseCommand('MSFT ALERT 2%', offered)).toMatchObject({ kind: 'subscribe', symbols: ['MSFT'] });
    expect(parseCommand('MSFT%', offered)).toEqual({ kind: 'subscribe', symbols: ['MSFT'], unknown: [] });
    expect(parseCommand('IBM%', offered)).toEqual({ kind: 'unknown-symbols', unknown: ['IBM'] });
    expect(parseCommand('stop <msft>', offered)).toEqual({ kind: 'stop', symbols: ['MSFT'], unknown: [] });
  });

  it('no ALERT text throws, whatever follows it, and each is one of its answers', () => {
    const piece = fc.constantFrom('MSFT', 'GOOGL', 'OFF', 'NOW', '%', '>', '<', '≥', '＞', '２', '2', '2.5', '.5', '1,000', '420', '-', '+', '$', 'ABOVE', 'BELOW', 'x'.repeat(700), '9'.repeat(400), '.'.repeat(50), '🙂', '\u200b', ' ', 'IBM', 'ME', 'WHEN');
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, fc.string({ maxLength: 20 })), { maxLength: 10 }), fc.boolean(), (words, spaced) => {
        const kind = parseCommand(`ALERT ${words.join(spaced ? ' ' : '')}`, offered).kind;
        expect(['alert', 'alert-off', 'bad-alert']).toContain(kind);
      }),
      { numRuns: 3000 },
    );
  });

  it('an alert parsed always has a symbol on offer and a level in range', () => {
    fc.assert(
      fc.property(fc.constantFrom('MSFT', 'msft', 'GOOGL', 'IBM', ''), fc.constantFrom('', '>', '<', 'above', 'below'), fc.double({ min: -10, max: 1e10, noNaN: true }), fc.constantFrom('', '%', ' %', ' now'), (sym, op, n, tail) => {
        const c = parseCommand(`ALERT ${sym} ${op} ${n}${tail}`, offered);
        if (c.kind !== 'alert') return;
        expect(offered.has(c.symbol)).toBe(true);
        if (c.rule === 'move') expect(c.level >= 0.1 && c.level <= 50).toBe(true);
        else expect(c.level > 0 && c.level < 1e9).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('any text', () => {
  it('no command throws (fuzzed with fast-check)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 100 }), fc.string({ unit: 'binary', maxLength: 100 })), (text) => {
        expect(() => parseCommand(text, offered)).not.toThrow();
        expect(() => parseCommand(`ALERT ${text}`, offered)).not.toThrow();
      }),
      { numRuns: 3000 },
    );
  });
});
