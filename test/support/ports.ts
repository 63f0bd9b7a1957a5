import net, { type AddressInfo } from 'node:net';

/**
 * A free TCP port on 127.0.0.1 (released at once, so a short race is possible: callers that start
 * a server on it retry). No vitest import, so the benchmarks use it too.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
