import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy that holds each chunk a client sends for a random 0–`maxDelayMs` (in order, per
 * connection) before passing it on; answers come back at once. It stands for what varies a
 * request's way to the provider — a busy event loop, a slow network — so that a test can show
 * the rate limit holds at the provider's door whatever that way costs.
 */
export async function startJitterProxy(targetPort: number, maxDelayMs: number, seed = 1): Promise<{ url: string; close(): Promise<void> }> {
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let chain = Promise.resolve();
    client.on('data', (chunk) => {
      const delay = random() * maxDelayMs;
      chain = chain.then(() => new Promise<void>((r) => setTimeout(r, delay))).then(() => void upstream.write(chunk));
    });
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) s.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
