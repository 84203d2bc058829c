import { describe, expect, it } from 'vitest';
import { AuthConfigurationError, buildRequestBody, MessagesClient, MessageValidationError, type OutboundMessage } from '@tickercast/messages-client';
import { startSimulator } from '../../../test/support/simulator.ts';

describe('inputs the client refuses before any request', () => {
  it('an unknown channel is reported on the channel field', () => {
    const err = (() => {
      try {
        buildRequestBody({ channel: 'telegram', to: '447700900123', from: '447700900000', text: 'hi' } as unknown as OutboundMessage);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(MessageValidationError);
    expect((err as MessageValidationError).field).toBe('channel');
  });

  it('a WhatsApp message with both text and a template is refused rather than half-sent', () => {
    expect(() =>
      buildRequestBody({ channel: 'whatsapp', to: '447700900123', from: '447700900001', text: 'hi', template: { name: 't' } } as unknown as OutboundMessage),
    ).toThrow(MessageValidationError);
  });

  it('a private key that is not a PEM fails as a typed, non-retryable error, and nothing is sent', async () => {
    const sim = await startSimulator();
    try {
      const client = new MessagesClient({ baseUrl: sim.url, auth: { kind: 'jwt', applicationId: 'app', privateKey: 'not a key' } });
      const err = await client.send({ channel: 'sms', to: '447700900123', from: '447700900000', text: 'hi' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthConfigurationError);
      expect((err as AuthConfigurationError).retryable).toBe(false);
      expect(sim.store.acceptedTotal).toBe(0);
      client.close();
    } finally {
      await sim.close();
    }
  });
});
