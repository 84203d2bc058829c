import { getCountry } from 'countries-and-timezones';
import { countryOf, MESSAGES_API_CHANNELS } from '@tickercast/messages-client';
import type { Channel } from '@tickercast/shared';
import { offsetAt } from './quiet-hours.ts';

/**
 * Time zones: the one a person names (TZ Europe/London, TZ Chicago), and the one their number
 * suggests when they name none. Names are IANA's, checked and spelled by Intl.
 */

/** The longest zone name read (IANA's longest is 32 characters): anything longer is not one. */
const ZONE_NAME_MAX = 40;

/** The zone a person named: the name as Intl spells it, or what was wrong with it. */
export type ZoneAnswer = { zone: string } | { problem: string };

/** Intl's own spelling of a zone name in any case (`EUROPE/LONDON` -> `Europe/London`), or undefined when it knows no such zone. */
export function canonicalZone(name: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/**
 * A zone from what a person typed: an IANA name in any case (`Europe/London`, `utc`), or its city
 * alone when only one zone has it (`Chicago`, `New York`, `buenos aires`).
 */
export function resolveZone(text: string): ZoneAnswer {
  const typed = text.trim().replace(/\s+/g, ' ');
  if (typed === '') return { problem: 'TZ needs a time zone' };
  const shown = typed.length > ZONE_NAME_MAX ? `${typed.slice(0, ZONE_NAME_MAX)}…` : typed;
  if (typed.length > ZONE_NAME_MAX || !/^[\p{L}0-9_/+\- ]+$/u.test(typed)) return { problem: `"${shown}" is not a time zone` };
  const name = typed.replaceAll(' ', '_');
  const exact = /[\p{L}]/u.test(name) ? canonicalZone(name) : undefined;
  if (exact) return { zone: exact };
  const suffix = `/${name.toUpperCase()}`;
  const matches = Intl.supportedValuesOf('timeZone').filter((z) => z.toUpperCase().endsWith(suffix));
  if (matches.length === 1) return { zone: matches[0]! };
  if (matches.length > 1) return { problem: `"${shown}" could be ${matches.slice(0, 3).join(' or ')}` };
  return { problem: `"${shown}" is not a time zone we know` };
}

/** The zone a number suggests, its country, and another zone of that country with another clock (for the reply's example), if any. */
export interface ZoneGuess {
  zone: string;
  country: string;
  /** Another zone of the country whose clock differs, most populous first: how the person would name theirs. */
  alternative?: string;
}

/** Per country, its zones with a clock of their own, most populous first (cities' populations). Built once, when first asked. */
let rankedZones: Map<string, string[]> | undefined;

async function zonesByPopulation(): Promise<Map<string, string[]>> {
  if (rankedZones) return rankedZones;
  // 2 MB of cities: loaded by the first QUIET that needs a zone, not by every dispatcher at start.
  const { default: cities } = await import('city-timezones');
  const sums = new Map<string, Map<string, number>>();
  // 7,000 cities in some 400 zones: each name checked by Intl once.
  const spelled = new Map<string, string | undefined>();
  const spell = (name: string) => (spelled.has(name) ? spelled.get(name) : spelled.set(name, canonicalZone(name)).get(name));
  for (const city of cities.cityMapping) {
    const zone = city.timezone ? spell(city.timezone) : undefined;
    if (!zone) continue;
    let perZone = sums.get(city.iso2);
    if (!perZone) sums.set(city.iso2, (perZone = new Map()));
    perZone.set(zone, (perZone.get(zone) ?? 0) + city.pop);
  }
  rankedZones = new Map([...sums].map(([country, perZone]) => [country, [...perZone].sort((a, b) => b[1] - a[1]).map(([zone]) => zone)]));
  return rankedZones;
}

/**
 * The zone a phone number suggests: its country's (libphonenumber), and where the country has
 * several, the one most of its people live in. The person is told which, and how to name theirs.
 */
export async function zoneForNumber(number: string, now = Date.now()): Promise<ZoneGuess | undefined> {
  const code = countryOf(number);
  const country = code ? getCountry(code) : null;
  if (!code || !country) return undefined;
  const ranked = (await zonesByPopulation()).get(code) ?? [];
  // A country no city of the list is in (a small territory): the library's own zones for it.
  const zones = ranked.length > 0 ? ranked : country.timezones.map(canonicalZone).filter((z): z is string => z !== undefined);
  const [zone] = zones;
  if (!zone) return undefined;
  const offset = offsetAt(now, zone);
  const alternative = zones.find((z) => offsetAt(now, z) !== offset);
  return { zone, country: country.name, ...(alternative ? { alternative } : {}) };
}

/** The zone a person's address suggests: their number's, on a channel whose addresses are numbers (not Messenger's page-scoped ids). */
export async function zoneForAddress(channel: Channel, address: string, now = Date.now()): Promise<ZoneGuess | undefined> {
  return MESSAGES_API_CHANNELS[channel].address === 'phone number' ? zoneForNumber(address, now) : undefined;
}
