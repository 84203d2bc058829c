import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { MESSAGES_API_CHANNELS, type ApiChannel } from './channels.ts';

/**
 * A recipient on `channel` as the Messages API wants it, or undefined when it is not one: the one
 * answer to "is this address valid on this channel" (the client before a send, the admin API). A
 * phone number is forgiven surrounding space and a leading `+` or `00`, as people type it; a
 * page-scoped id is made by Meta, not typed, and must be exact.
 */
export function normalizeAddress(channel: ApiChannel, input: string): string | undefined {
  if (MESSAGES_API_CHANNELS[channel].address === 'page-scoped id') return isPageScopedId(input) ? input : undefined;
  return normalizeNumber(input);
}

/**
 * The Messages API wants numbers in E.164 without `+` or `00`: 7 to 15 digits. Accepts a
 * leading `+` or `00` (people type them) and returns the bare digits, or undefined when the
 * number is not one a phone could have.
 */
export function normalizeNumber(input: string): string | undefined {
  const known = checked.get(input);
  if (known !== undefined) return known || undefined;
  const digits = input.trim().replace(/^(\+|00)/, '');
  const valid = /^[1-9]\d{6,14}$/.test(digits) && parsePhoneNumberFromString(`+${digits}`)?.isPossible() === true;
  remember(input, valid ? digits : '');
  return valid ? digits : undefined;
}

/**
 * The country calling code of a normalized number (`44` for 447700900123): what a message to it
 * costs is priced by it, so abuse budgets count per calling code. Undefined when unknown.
 */
export function callingCode(normalized: string): string | undefined {
  return parsePhoneNumberFromString(`+${normalized}`)?.countryCallingCode;
}

/**
 * The country (ISO 3166 alpha-2) a normalized number belongs to: where the person probably is,
 * for their time zone. Within +1 the area code decides (`US`, `CA`, …); a number the plan does not
 * place (a range set aside for drama, 447700900123) gets its calling code's main country (`GB`,
 * `US`). Undefined when not even that is known.
 */
export function countryOf(normalized: string): string | undefined {
  const parsed = parsePhoneNumberFromString(`+${normalized}`);
  return parsed?.country ?? parsed?.getPossibleCountries()[0];
}

/*
 * Parsing a number with libphonenumber's metadata is the costliest step of building a message
 * (several percent of a dispatcher's CPU), and a feed sends to the same numbers tick after tick:
 * the answers are kept, oldest dropped first. '' marks a number found invalid.
 */
const CHECKED_MAX = 100_000;
const checked = new Map<string, string>();

function remember(input: string, answer: string): void {
  if (checked.size >= CHECKED_MAX) checked.delete(checked.keys().next().value!);
  checked.set(input, answer);
}

/** A Messenger page-scoped id (PSID) or page id: a long decimal number assigned by Meta. */
export function isPageScopedId(input: string): boolean {
  return /^\d{5,32}$/.test(input);
}

/** An SMS sender: a number, or an alphanumeric sender id of at most 11 characters. */
export function isSmsSender(input: string): boolean {
  return normalizeNumber(input) !== undefined || /^[A-Za-z0-9 ]{1,11}$/.test(input);
}
