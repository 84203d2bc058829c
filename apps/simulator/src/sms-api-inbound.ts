import { randomBytes, randomUUID } from 'node:crypto';
import { smsSignature, type SmsSignatureMethod } from '@tickercast/messages-client';
import type { OutgoingRequest } from './webhook-delivery.ts';

/*
 * The SMS API's account-level inbound-sms webhook, as a phone's text reaches an application that
 * set its number's webhook there: flat string parameters in a query (GET), a form or JSON (POST),
 * long texts in parts, each part signed with `sig` when the account has a signature secret.
 */

export type SmsApiMethod = 'GET' | 'POST' | 'POST-JSON';

const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXTENDED = '\f^{}\\[~]|€';

/** Septets a character takes in GSM-7, or undefined when it needs UCS-2. */
function septets(c: string): number | undefined {
  if (GSM_BASIC.includes(c)) return 1;
  if (GSM_EXTENDED.includes(c)) return 2;
  return undefined;
}

export interface Segmented {
  type: 'text' | 'unicode';
  parts: string[];
}

/**
 * Splits a text as the network does: one message up to 160 GSM-7 septets (70 UCS-2 units),
 * else parts of 153 (67), leaving room for the concatenation header; a character never straddles two parts.
 */
export function segment(text: string): Segmented {
  const chars = [...text];
  const gsm = chars.every((c) => septets(c) !== undefined);
  const size = (c: string) => (gsm ? septets(c)! : c.length);
  const total = chars.reduce((n, c) => n + size(c), 0);
  const single = gsm ? 160 : 70;
  const partMax = gsm ? 153 : 67;
  if (total <= single) return { type: gsm ? 'text' : 'unicode', parts: [text] };
  const parts: string[] = [];
  let current = '';
  let used = 0;
  for (const c of chars) {
    if (used + size(c) > partMax) {
      parts.push(current);
      current = '';
      used = 0;
    }
    current += c;
    used += size(c);
  }
  if (current) parts.push(current);
  return { type: gsm ? 'text' : 'unicode', parts };
}

/** `YYYY-MM-DD HH:MM:SS` in UTC, as the SMS API writes `message-timestamp`. */
export function smsApiTimestamp(at: Date): string {
  return at.toISOString().slice(0, 19).replace('T', ' ');
}

export interface SmsApiInboundOptions {
  /** The phone. */
  msisdn: string;
  /** The business number. */
  to: string;
  text: string;
  apiKey: string;
  at: Date;
  /** The concatenation reference the phone gives a long message (all its parts share it). */
  concatRef: number;
  signature?: { secret: string; method: SmsSignatureMethod } | undefined;
}

/** The parameters of each webhook a phone's text produces: one, or one per part of a long text. */
export function smsApiInboundParams(opts: SmsApiInboundOptions): Record<string, string>[] {
  const { type, parts } = segment(opts.text);
  const timestamp = smsApiTimestamp(opts.at);
  return parts.map((text, i) => {
    const params: Record<string, string> = {
      'api-key': opts.apiKey,
      msisdn: opts.msisdn,
      to: opts.to,
      messageId: randomBytes(8).toString('hex').toUpperCase(),
      text,
      type,
      keyword: text.trim().split(/\s+/)[0]?.toUpperCase() ?? '',
      'message-timestamp': timestamp,
      ...(parts.length > 1 && {
        concat: 'true',
        'concat-ref': String(opts.concatRef),
        'concat-total': String(parts.length),
        'concat-part': String(i + 1),
      }),
    };
    if (opts.signature) {
      params.timestamp = String(Math.floor(opts.at.getTime() / 1000));
      params.nonce = randomUUID();
      params.sig = smsSignature(params, opts.signature.secret, opts.signature.method);
    }
    return params;
  });
}

/** The request carrying one set of parameters: a query string (GET), a form (POST) or JSON (POST-JSON). */
export function smsApiRequest(url: string, params: Record<string, string>, method: SmsApiMethod): OutgoingRequest {
  if (method === 'GET') return { url: `${url}?${new URLSearchParams(params).toString()}`, method: 'GET', headers: {} };
  if (method === 'POST-JSON') return { url, method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(params) };
  return { url, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(params).toString() };
}
