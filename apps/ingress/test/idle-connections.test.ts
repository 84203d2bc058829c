import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { closeIdleConnections } from '../src/idle-connections.ts';

/*
 * A keep-alive connection whose request is in flight when close() begins: Fastify 5.12 leaves it
 * open after the answer until its keep-alive timeout (72 s), and close() waits for it.
 */
describe('closing with a keep-alive connection busy', () => {
  it('closes the connection once its answer is sent, and close() resolves', async () => {
    const app = Fastify({ logger: false });
    await app.register(closeIdleConnections);
    let arrived!: () => void;
    const inFlight = new Promise<void>((r) => (arrived = r));
    app.get('/slow', async () => {
      arrived();
      await new Promise((r) => setTimeout(r, 300));
      return { ok: true };
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const agent = new Agent({ keepAlive: true });
    try {
      const answered = new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/slow', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
      await inFlight;
      const closing = app.close();
      // The request in flight is answered; then the connection, idle, is closed and close() ends
      // (without the plugin it waits the 72 s out, and the test times out).
      expect(await answered).toBe(200);
      await closing;
      expect(app.server.listening).toBe(false);
    } finally {
      agent.destroy();
    }
  }, 10_000);
});
