import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { envSchema, parseEnv } from '../../config/env';
import { parseRoles } from '../../cli/commands/start';

/**
 * deploy/docker-compose.yml and deploy/.env.example, checked without Docker: the services a
 * province deployment needs, their images and health checks, and that every app service's
 * settings (the example .env plus its own environment) pass config/env.ts as production.
 */
const root = join(__dirname, '../..');
const read = (p: string) => readFileSync(join(root, p), 'utf8');

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string;
  healthcheck?: { test: string[] };
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  networks?: Record<string, { ipv4_address?: string }> | string[];
}
const compose = parse(read('deploy/docker-compose.yml'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = compose.services;
const example = read('deploy/.env.example');
/** Set in the example (KEY=value) and documented with its default (# KEY=value). */
const active = Object.fromEntries(
  [...example.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1], m[2].trim()]),
);
const documented = [...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);

/** Compose's ${VAR} and ${VAR:-default}, from the example .env. */
function interpolate(v: string): string {
  return v.replace(
    /\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g,
    (_, name: string, def?: string) => active[name] ?? def ?? '',
  );
}

const appServices = Object.entries(services).filter(
  ([, s]) => s.image?.startsWith('hailong:') && s.command?.[0] === 'start',
);
function settingsOf(s: Service): Record<string, string> {
  const env: Record<string, string> = { ...active };
  for (const [k, v] of Object.entries(s.environment ?? {})) env[k] = interpolate(String(v));
  return env;
}
const rolesOf = (s: Service) => parseRoles(s.command![s.command!.indexOf('--roles') + 1]);

test('.env.example documents every variable config/env.ts reads, and only those', () => {
  const known = Object.keys(envSchema.shape);
  expect(documented.filter((k) => !known.includes(k))).toEqual([]);
  expect(known.filter((k) => !documented.includes(k))).toEqual([]);
});

test('MongoDB is a three-member replica set, initiated once; Redis keeps an AOF and never evicts', () => {
  const members = ['mongo1', 'mongo2', 'mongo3'];
  for (const m of members) {
    expect(services[m].image).toMatch(/^mongo:\d/);
    expect(services[m].command).toEqual(expect.arrayContaining(['--replSet', 'rs0']));
  }
  const init = services['mongo-init'];
  const script = init.command!.join(' ');
  for (const m of members) expect(script).toContain(`host: '${m}:27017'`);
  expect(Object.keys(init.depends_on!)).toEqual(members);
  const redis = services.redis.command!;
  expect(redis[redis.indexOf('--appendonly') + 1]).toBe('yes');
  expect(redis[redis.indexOf('--maxmemory-policy') + 1]).toBe('noeviction');
  expect(services.redis.image).toMatch(/^redis:7/);
  // Indexes are built once the replica set exists, before any app process starts.
  expect(services['db-indexes'].command).toEqual(['db', 'indexes']);
  expect(services['db-indexes'].depends_on).toEqual({
    'mongo-init': { condition: 'service_completed_successfully' },
  });
});

test('two http+bot processes, a worker pool for every queue, a TLS proxy in front', () => {
  const roles = appServices.map(([name, s]) => [name, rolesOf(s).join(',')]);
  expect(roles.filter(([, r]) => r === 'http,bot').map(([n]) => n)).toEqual(['web-1', 'web-2']);
  const workers = appServices.filter(([, s]) => rolesOf(s).includes('workers'));
  const consumed = workers.flatMap(([, s]) => parseEnv({ ...settingsOf(s), NODE_ENV: 'test' }).WORKER_QUEUES);
  expect([...consumed].sort()).toEqual([...envSchema.shape.WORKER_QUEUES.parse(undefined)].sort());
  expect(new Set(consumed).size).toBe(consumed.length);

  const proxy = services.proxy;
  expect(proxy.image).toMatch(/^caddy:2/);
  expect(proxy.ports).toEqual(expect.arrayContaining(['443:443']));
  const caddyfile = read('deploy/Caddyfile');
  expect(caddyfile).toMatch(/reverse_proxy web-1:3000 web-2:3000/);
  expect(caddyfile).toContain('health_uri /healthz');
  // Only the proxy's address may set X-Forwarded-For.
  const proxyIp = (proxy.networks as Record<string, { ipv4_address: string }>).hailong.ipv4_address;
  for (const [, s] of appServices) expect(settingsOf(s).TRUST_PROXY).toBe(proxyIp);
});

test('every service has a health check; the app image checks its heartbeat, for every role', () => {
  for (const [name, s] of Object.entries(services)) {
    if (name === 'mongo-init' || name === 'db-indexes') continue;
    expect([name, s.healthcheck?.test.length]).toEqual([name, expect.any(Number)]);
  }
  for (const [, s] of appServices) {
    expect(s.healthcheck!.test).toEqual(['CMD', 'node', 'dist/bin/healthcheck.js']);
    expect(s.depends_on).toMatchObject({
      'db-indexes': { condition: 'service_completed_successfully' },
      redis: { condition: 'service_healthy' },
    });
  }
  expect(existsSync(join(root, 'bin/healthcheck.ts'))).toBe(true);
  expect(read('Dockerfile')).toMatch(/ENV HEALTH_FILE=\/tmp\//);
});

test('each app service starts with what config/env.ts requires in production', () => {
  for (const [name, s] of appServices) {
    const settings = settingsOf(s);
    expect([name, settings.NODE_ENV]).toEqual([name, 'production']);
    const env = parseEnv(settings);
    // Several hosts: not a WHATWG URL.
    const [, hosts, query] = /^mongodb:\/\/([^/]+)\/hailong\?(.*)$/.exec(env.MONGODB_URI) ?? [];
    expect(hosts).toBe('mongo1:27017,mongo2:27017,mongo3:27017');
    expect(Object.fromEntries(new URLSearchParams(query))).toMatchObject({
      replicaSet: 'rs0',
      w: 'majority',
      retryWrites: 'true',
    });
    const redis = new URL(env.REDIS_URL);
    expect([redis.hostname, redis.password]).toEqual(['redis', active.REDIS_PASSWORD]);
    expect(env.TELEGRAM_MODE).toBe('webhook');
    expect(env.PUBLIC_URL).toMatch(/^https:\/\//);
  }
});
