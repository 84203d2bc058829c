import { generateKeyPairSync, randomUUID } from 'node:crypto';
import type { AuthConfig } from '@tickercast/messages-client';
import { buildSimulator, type Simulator } from '../../apps/simulator/src/app.ts';
import { credentialsFrom } from '../../apps/simulator/src/auth.ts';

export interface RunningSimulator extends Simulator {
  url: string;
  auth: AuthConfig;
  close(): Promise<void>;
}

export const BUSINESS_NUMBERS = {
  sms: '447700900000',
  whatsapp: '447700900001',
  messenger: '107083064136738',
  viber_service: '16273',
} as const;

/** A real simulator on a free port, with a fresh application key pair: what tests send to. */
export async function startSimulator(
  webhookBaseUrl = 'http://127.0.0.1:9',
  /** Test-only hooks on the app, added before it listens. */
  configure?: (sim: Simulator) => void,
): Promise<RunningSimulator> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const applicationId = randomUUID();
  const sim = buildSimulator({
    credentials: credentialsFrom({ applicationId, privateKey: pem }),
    webhookBaseUrl,
    businessNumbers: { ...BUSINESS_NUMBERS },
  });
  configure?.(sim);
  const address = await sim.app.listen({ port: 0, host: '127.0.0.1' });
  return {
    ...sim,
    url: address,
    auth: { kind: 'jwt', applicationId, privateKey: pem },
    close: () => sim.app.close(),
  };
}
