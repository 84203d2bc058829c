import { z } from 'zod';
import type { ApiChannel, PhoneChannel } from '@tickercast/messages-client/channels';
import type { Config } from './runtime/config.ts';

/*
 * What tickercast does on each channel it serves: the product's choices, next to the Messages
 * API's own facts (MESSAGES_API_CHANNELS in @tickercast/messages-client: how an address is written,
 * the longest text, ttl, the customer-care window, read receipts), which this table reads and
 * never restates. The dependency runs this way because the client is generic and must not learn
 * the product's choices; the product may always read the API's facts.
 *
 * Every channel list in the system is this table's keys or a filter of them: the config's rates
 * and senders, the send queues, the signup page, the dashboard and the simulator's phones.
 */

/** The config variables of one kind of value: what a table entry may name. */
type ConfigKey<T> = { [K in keyof Config]-?: Config[K] extends T ? K : never }[keyof Config];

export interface ChannelRule {
  /** How the channel is named to people: the signup page, the dashboard, the simulator's phones. */
  label: string;
  /**
   * Whether a person can sign up on the web page (`/signup`), which asks for a phone number: only
   * channels addressed by one may (a Messenger id is not something a person knows), and the
   * table's type refuses `true` on any other.
   */
  webSignup: boolean;
  /**
   * Replies and broadcasts are cut to this many characters (fitReplyText), at most what the
   * provider takes; WhatsApp stays at 1,000 because outside the window the text travels as a
   * template parameter.
   */
  replyTextMax: number;
  /**
   * What a message outside the customer-care window becomes (apps/dispatcher/src/outbound.ts, whose
   * tests hold it to this): free text where the channel has no window, the approved template
   * (WHATSAPP_TEMPLATE_NAME), or a message tag when MESSENGER_TAG is set and nothing otherwise.
   */
  outsideWindow: 'no window' | 'template' | 'message tag or nothing';
  /**
   * How a subscriber's turn in the feed is written: `combined`, one message with every ticker of
   * theirs that changed (`MSFT 412.35 ▲ … · GOOGL 170.02 ▼ …`), split only where replyTextMax
   * requires; or `per ticker`, one message each, for a channel that needs it.
   */
  feedMessage: 'combined' | 'per ticker';
  /**
   * FALLBACK SMS: whose number the SMS fallback goes to. `the address`: the channel's own address is
   * the person's mobile number (WhatsApp), used as it is; `named`: the channel gives no number we may
   * text (a Messenger id; a Viber user is not known to be reachable by SMS at that number), so the
   * person names one and confirms it with a YES from it; `none`: the channel is SMS itself.
   */
  smsFallback: 'the address' | 'named' | 'none';
  /** The config variable of the channel's send rate (per second, across every dispatcher). */
  rateVar: ConfigKey<number>;
  /** The config variable of our sender id on the channel: a number, a page id, a service id. */
  senderVar: ConfigKey<string>;
}

export const CHANNEL_RULES = {
  sms: { label: 'SMS', smsFallback: 'none', webSignup: true, replyTextMax: 1000, feedMessage: 'combined', outsideWindow: 'no window', rateVar: 'SMS_RATE_PER_SEC', senderVar: 'SMS_FROM' },
  whatsapp: { label: 'WhatsApp', smsFallback: 'the address', webSignup: true, replyTextMax: 1000, feedMessage: 'combined', outsideWindow: 'template', rateVar: 'WHATSAPP_RATE_PER_SEC', senderVar: 'WHATSAPP_FROM' },
  messenger: {
    label: 'Messenger',
    smsFallback: 'named',
    webSignup: false,
    replyTextMax: 640,
    feedMessage: 'combined',
    outsideWindow: 'message tag or nothing',
    rateVar: 'MESSENGER_RATE_PER_SEC',
    senderVar: 'MESSENGER_FROM',
  },
  viber_service: { label: 'Viber', smsFallback: 'named', webSignup: true, replyTextMax: 1000, feedMessage: 'combined', outsideWindow: 'no window', rateVar: 'VIBER_RATE_PER_SEC', senderVar: 'VIBER_FROM' },
} as const satisfies { [C in ApiChannel]?: ChannelRule & (C extends PhoneChannel ? unknown : { webSignup: false }) };

/** The Messages API v1 channels the feed speaks on, named as the API names them. */
export type Channel = keyof typeof CHANNEL_RULES;
export const CHANNELS = Object.keys(CHANNEL_RULES) as [Channel, ...Channel[]];
export const channelSchema = z.enum(CHANNELS);

/** The channels a person can sign up on from the web: phone channels, each. */
export type SignupChannel = { [C in Channel]: (typeof CHANNEL_RULES)[C]['webSignup'] extends true ? C : never }[Channel];
export const SIGNUP_CHANNELS = CHANNELS.filter((c): c is SignupChannel => CHANNEL_RULES[c].webSignup);

/** A subscriber is one address on one channel: the same phone on SMS and WhatsApp is two subscribers. */
export type SubscriberId = `${Channel}:${string}`;

export function subscriberId(channel: Channel, address: string): SubscriberId {
  return `${channel}:${address}`;
}

export function parseSubscriberId(id: string): { channel: Channel; address: string } {
  const at = id.indexOf(':');
  const channel = channelSchema.parse(id.slice(0, at));
  return { channel, address: id.slice(at + 1) };
}
