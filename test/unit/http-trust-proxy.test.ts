import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpServer } from '../../bot/http/server';
import { parseEnv } from '../../config/env';

/** The client address the server sees for a request from `from` claiming X-Forwarded-For 10.20.0.7. */
async function ipSeen(trustProxy: boolean | string | undefined, from: string): Promise<string> {
  const app = createHttpServer({ bodyLimit: 1024, ...(trustProxy !== undefined ? { trustProxy } : {}) });
  app.get('/ip', async (req) => ({ ip: req.ip }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  try {
    const body = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          path: '/ip',
          localAddress: from,
          headers: { 'x-forwarded-for': '10.20.0.7' },
        },
        (res) => {
          let b = '';
          res.on('data', (c: Buffer) => (b += c.toString()));
          res.on('end', () => resolve(b));
        },
      );
      req.on('error', reject);
      req.end();
    });
    return (JSON.parse(body) as { ip: string }).ip;
  } finally {
    await app.close();
  }
}

test('X-Forwarded-For is believed from a proxy on this host, by default', async () => {
  expect(await ipSeen(undefined, '127.0.0.1')).toBe('10.20.0.7');
});

test('TRUST_PROXY names the proxies: any other peer is seen as itself; false believes nobody', async () => {
  expect(await ipSeen('127.0.0.2/32', '127.0.0.2')).toBe('10.20.0.7');
  // A client that is not a named proxy cannot choose the address the counter-network rule judges.
  expect(await ipSeen('127.0.0.2/32', '127.0.0.1')).toBe('127.0.0.1');
  expect(await ipSeen(false, '127.0.0.1')).toBe('127.0.0.1');
  expect(parseEnv({ NODE_ENV: 'test', TRUST_PROXY: 'false' }).TRUST_PROXY).toBe(false);
  expect(parseEnv({ NODE_ENV: 'test', TRUST_PROXY: '10.0.0.0/8,loopback' }).TRUST_PROXY).toBe(
    '10.0.0.0/8,loopback',
  );
  expect(parseEnv({ NODE_ENV: 'test' }).TRUST_PROXY).toBe('loopback');
});
