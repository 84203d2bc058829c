/*
 * How an alert is kept in its subscriber's record (one hash, keys.subscriber): a field
 * `alert:<SYMBOL>:<kind>` per alert, valued `<state>|<urgent>|<level>|<base>`:
 *
 * - kind `move` (ALERT MSFT 2%): level is the move in percent, base the price it is measured
 *   from (the price in the last alert message of it, or the price when it was set);
 * - kind `above` / `below` (ALERT MSFT > 420, < 400): level is the price; base is empty;
 * - state `armed` (its triggers wait in the index), `fired` (a trigger fired, its message is not
 *   sent yet), `spent` (an above/below alert whose message went: kept so that LIST says so);
 * - urgent `1` for ALERT … NOW (quiet hours let it through), else `0`.
 *
 * Apart from the record's `sym:` fields (the plain feed), so that every script reading those
 * (the feed send, STOP, START, the layout move) leaves alerts alone; a symbol with an alert is not
 * in the plain feed of that person (stores/alerts.ts).
 */

export const ALERT_KINDS = ['move', 'above', 'below'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
export type AlertState = 'armed' | 'fired' | 'spent';

export interface Alert {
  symbol: string;
  kind: AlertKind;
  /** The move in percent (move), or the price to cross (above, below). */
  level: number;
  /** A move's base: the price it is measured from. */
  base?: number;
  urgent: boolean;
  state: AlertState;
}

/** The prefix of a record's alert fields. */
export const ALERT_FIELD = 'alert:';

export function alertField(symbol: string, kind: AlertKind): string {
  return `${ALERT_FIELD}${symbol}:${kind}`;
}

export function encodeAlert(a: Pick<Alert, 'state' | 'urgent' | 'level' | 'base'>): string {
  return `${a.state}|${a.urgent ? 1 : 0}|${a.level}|${a.base ?? ''}`;
}

const STATES: ReadonlySet<string> = new Set(['armed', 'fired', 'spent']);
const KINDS: ReadonlySet<string> = new Set(ALERT_KINDS);

/** The alert a record field holds, or undefined if the field is not one (or is damaged). */
export function decodeAlert(field: string, value: string): Alert | undefined {
  if (!field.startsWith(ALERT_FIELD)) return undefined;
  const rest = field.slice(ALERT_FIELD.length);
  const colon = rest.lastIndexOf(':');
  const symbol = rest.slice(0, colon);
  const kind = rest.slice(colon + 1);
  const [state, urgent, level, base] = value.split('|');
  if (colon <= 0 || !KINDS.has(kind) || !STATES.has(state ?? '') || !Number.isFinite(Number(level))) return undefined;
  return {
    symbol,
    kind: kind as AlertKind,
    level: Number(level),
    ...(base ? { base: Number(base) } : {}),
    urgent: urgent === '1',
    state: state as AlertState,
  };
}

/** Every alert in a record (HGETALL), by symbol then kind. */
export function alertsOf(record: Record<string, string>): Alert[] {
  const out: Alert[] = [];
  for (const [f, v] of Object.entries(record)) {
    const a = decodeAlert(f, v);
    if (a) out.push(a);
  }
  return out.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : ALERT_KINDS.indexOf(a.kind) - ALERT_KINDS.indexOf(b.kind)));
}

/**
 * Lua for the alert fields, for every script that changes them (the alert store's, and the
 * subscription store's SUBSCRIBE and STOP, which remove them):
 * alert_of(field) -> symbol, kind (nil if not an alert field); alert_state(value);
 * with_state(value, state); drop_alert(record, id, symbol, kind, up, down) and
 * drop_alerts_of(record, id, symbol, up, down) (the field and its triggers; up, down: the
 * partition's trigger key prefixes) -> how many went; drop_all_alerts(record, id, up, down);
 * has_fired(record).
 */
export const LUA_ALERT_FIELDS = `
local AL = '${ALERT_FIELD}'
local function alert_of(f)
  if string.sub(f, 1, #AL) ~= AL then return nil end
  return string.match(string.sub(f, #AL + 1), '^(.+):(%a+)$')
end
local function alert_state(v) return string.match(v, '^(%a+)|') end
local function with_state(v, st) return st .. string.match(v, '^%a+(|.*)$') end
local function drop_alert(rec, id, s, k, up, down)
  local m = k .. '|' .. id
  redis.call('ZREM', up .. s, m)
  redis.call('ZREM', down .. s, m)
  return redis.call('HDEL', rec, AL .. s .. ':' .. k)
end
local function drop_alerts_of(rec, id, s, up, down)
  local n = 0
  for _, k in ipairs({ ${ALERT_KINDS.map((k) => `'${k}'`).join(', ')} }) do n = n + drop_alert(rec, id, s, k, up, down) end
  return n
end
local function drop_all_alerts(rec, id, up, down)
  local n = 0
  for _, f in ipairs(redis.call('HKEYS', rec)) do
    local s, k = alert_of(f)
    if s then n = n + drop_alert(rec, id, s, k, up, down) end
  end
  return n
end
local function has_fired(rec)
  local flat = redis.call('HGETALL', rec)
  for i = 1, #flat, 2 do
    if alert_of(flat[i]) and alert_state(flat[i + 1]) == 'fired' then return true end
  end
  return false
end`;
