import { describe, expect, it } from 'vitest';
import { parseCommand } from '../src/commands.ts';

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
