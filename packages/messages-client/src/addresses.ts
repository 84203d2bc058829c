import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

/**
 * The Messages API wants numbers in E.164 without `+` or `00`: 7 to 15 digits. Accepts a
 * leading `+` or `00` (people type them) and returns the bare digits, or undefined when the
 * number is not one a phone could have.
 */
export function normalizeNumber(input: string): string | undefined {
  const digits = input.trim().replace(/^(\+|00)/, '');
  if (!/^[1-9]\d{6,14}$/.test(digits)) return undefined;
  const parsed = parsePhoneNumberFromString(`+${digits}`);
  return parsed?.isPossible() ? digits : undefined;
}

/** A Messenger page-scoped id (PSID) or page id: a long decimal number assigned by Meta. */
export function isPageScopedId(input: string): boolean {
  return /^\d{5,32}$/.test(input);
}

/** An SMS sender: a number, or an alphanumeric sender id of at most 11 characters. */
export function isSmsSender(input: string): boolean {
  return normalizeNumber(input) !== undefined || /^[A-Za-z0-9 ]{1,11}$/.test(input);
}
