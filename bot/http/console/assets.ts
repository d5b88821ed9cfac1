import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';

const OWN = [
  join(__dirname, 'assets'),
  join(__dirname, '..', '..', '..', '..', 'bot', 'http', 'console', 'assets'),
].find((d) => existsSync(join(d, 'console.css')));
if (!OWN) throw new Error('console assets not found');

/**
 * Every file the console serves, by name: a fixed list (no path from the URL reaches the disk).
 * htmx and Chart.js come from their npm packages, so the browser loads nothing from another
 * origin. A page's JavaScript and CSS stay under 400 KB compressed (docs/console.md;
 * test/e2e/console-pages.test.ts weighs them as served).
 */
const FILES: Record<string, string> = {
  'htmx.min.js': require.resolve('htmx.org/dist/htmx.min.js'),
  // chart.js exports no subpath for its UMD file: it sits beside the package's main entry, in dist/.
  'chart.umd.min.js': join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'),
  'console.css': join(OWN, 'console.css'),
  'console.js': join(OWN, 'console.js'),
  'overview.js': join(OWN, 'overview.js'),
};

const TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

interface Asset {
  type: string;
  hash: string;
  body: Buffer;
  gzip: Buffer;
  br: Buffer;
}

function load(): Map<string, Asset> {
  const m = new Map<string, Asset>();
  for (const [name, file] of Object.entries(FILES)) {
    const body = readFileSync(file);
    m.set(name, {
      type: TYPES[name.split('.').pop()!] ?? 'application/octet-stream',
      hash: createHash('sha256').update(body).digest('base64url').slice(0, 12),
      body,
      gzip: gzipSync(body, { level: 9 }),
      br: brotliCompressSync(body),
    });
  }
  return m;
}

const ASSETS = load();

/** `/admin/assets/htmx.min.js?v=<hash>`: cached for a year, a new hash when the file changes. */
export function assetUrl(name: string): string {
  const a = ASSETS.get(name);
  if (!a) throw new Error(`console: no asset ${name}`);
  return `/admin/assets/${name}?v=${a.hash}`;
}

export function assetRoutes(app: FastifyInstance): void {
  app.get<{ Params: { name: string } }>('/admin/assets/:name', async (req, reply) => {
    const a = ASSETS.get(req.params.name);
    if (!a) return reply.status(404).type('text/plain; charset=utf-8').send('not found');
    const accept = String(req.headers['accept-encoding'] ?? '');
    const [enc, body] = /\bbr\b/.test(accept)
      ? (['br', a.br] as const)
      : /\bgzip\b/.test(accept)
        ? (['gzip', a.gzip] as const)
        : ([null, a.body] as const);
    if (enc) void reply.header('content-encoding', enc);
    return reply
      .header('vary', 'Accept-Encoding')
      .header('x-content-type-options', 'nosniff')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .type(a.type)
      .send(body);
  });
}
