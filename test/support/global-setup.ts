import net from 'node:net';

/**
 * Tests run against the real Redis and a real MongoDB-compatible server. `npm test` starts them
 * (scripts/with-services.sh). A missing service is a failure, never a silent skip.
 */
function reachable(url: string, defaultPort: number): Promise<void> {
  const u = new URL(url);
  const port = Number(u.port || defaultPort);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: u.hostname, port, timeout: 3000 }, () => {
      socket.end();
      resolve();
    });
    socket.on('error', (err) => reject(new Error(`${url} is not reachable: ${err.message}`)));
    socket.on('timeout', () => reject(new Error(`${url} is not reachable: timeout`)));
  });
}

export default async function globalSetup(): Promise<void> {
  const missing = ['MONGODB_URI', 'REDIS_URL'].filter((k) => !process.env[k]);
  if (missing.length > 0) {
    throw new Error(
      `${missing.join(', ')} not set. Run the tests with \`npm test\`, which starts Redis and FerretDB ` +
        '(scripts/with-services.sh), or set them to running servers.',
    );
  }
  await reachable(process.env.REDIS_URL!, 6379);
  await reachable(process.env.MONGODB_URI!.replace(/^mongodb:/, 'http:'), 27017);
  process.env.NODE_ENV = 'test';
}
