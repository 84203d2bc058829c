import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago (the OS picks it; we let it go). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
