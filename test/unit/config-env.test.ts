import { ConfigError, parseEnv } from '../../config/env';

describe('PHONE_HASH_KEY', () => {
  test('stops start-up when it is missing outside the tests, naming the variable', () => {
    for (const source of [
      {},
      { NODE_ENV: 'development' },
      { NODE_ENV: 'production' },
      { NODE_ENV: 'production', PHONE_HASH_KEY: '' },
    ]) {
      expect(() => parseEnv(source)).toThrow(ConfigError);
      expect(() => parseEnv(source)).toThrow(/PHONE_HASH_KEY: required outside NODE_ENV=test/);
    }
  });

  test('refuses a short key and the tests’ key outside the tests', () => {
    expect(() => parseEnv({ NODE_ENV: 'production', PHONE_HASH_KEY: 'short-key' })).toThrow(
      /PHONE_HASH_KEY: expected at least 16 characters/,
    );
    const testKey = parseEnv({ NODE_ENV: 'test' }).PHONE_HASH_KEY;
    expect(() => parseEnv({ NODE_ENV: 'development', PHONE_HASH_KEY: testKey })).toThrow(
      /PHONE_HASH_KEY: required/,
    );
  });

  test('takes a long enough key anywhere, and defaults only under NODE_ENV=test', () => {
    const key = 'k'.repeat(44);
    expect(parseEnv({ NODE_ENV: 'production', PHONE_HASH_KEY: key }).PHONE_HASH_KEY).toBe(key);
    expect(parseEnv({ PHONE_HASH_KEY: key }).PHONE_HASH_KEY).toBe(key);
    // The demo (scripts/demo.sh) sets its own key.
    expect(parseEnv({ PHONE_HASH_KEY: 'demo-phone-hash-key' }).PHONE_HASH_KEY).toBe('demo-phone-hash-key');
    expect(parseEnv({ NODE_ENV: 'test' }).PHONE_HASH_KEY.length).toBeGreaterThan(0);
  });
});

test('the rate limits default to budgets a one-stop burst fits in, and 0 turns one off', () => {
  const env = parseEnv({ NODE_ENV: 'test' });
  expect([
    env.RATE_LIMIT_WEB_PER_MIN,
    env.RATE_LIMIT_API_PER_MIN,
    env.RATE_LIMIT_DOSSIERS_PER_KEY_PER_MIN,
    env.RATE_LIMIT_REPORTS_PER_KEY_PER_MIN,
  ]).toEqual([300, 3000, 1200, 120]);
  expect(parseEnv({ NODE_ENV: 'test', RATE_LIMIT_WEB_PER_MIN: '0' }).RATE_LIMIT_WEB_PER_MIN).toBe(0);
  expect(() => parseEnv({ NODE_ENV: 'test', RATE_LIMIT_API_PER_MIN: '-1' })).toThrow(
    /RATE_LIMIT_API_PER_MIN/,
  );
});

test('ROLES unset or empty leaves the layout to `hailong start`; set, it names the roles', () => {
  const roles = (v: string | undefined) =>
    parseEnv({ NODE_ENV: 'test', ...(v === undefined ? {} : { ROLES: v }) }).ROLES;
  expect(roles(undefined)).toBeUndefined();
  expect(roles('')).toBeUndefined();
  expect(roles(' , ')).toBeUndefined();
  expect(roles('http, bot')).toEqual(['http', 'bot']);
  expect(() => roles('http,web')).toThrow(ConfigError);
});
