import { randomBytes } from 'node:crypto';
import { ConfigError, parseEnv } from '../../config/env';
import { openPhone, sealPhone, znsEnabled, type ZnsEnv } from '../../bot/survey/zns-phone';

const SECRETS_KEY = randomBytes(32).toString('hex');
const env: ZnsEnv = {
  INVITE_CHANNEL_ORDER: ['telegram', 'zalo', 'zns'],
  ZALO_ZNS_TEMPLATE_ID: 'T1',
  SECRETS_KEY,
};

describe('the phone number kept for Zalo ZNS', () => {
  test('is sealed in its normalised form and opens only for its own dossier', () => {
    const sealed = sealPhone(env, 'HS-1', '0912 345 678');
    expect(sealed).toMatch(/^v2\.[0-9a-f]{8}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('912345678');
    expect(openPhone(env, 'HS-1', sealed!)).toBe('84912345678');
    // The dossier code is associated data: a value copied onto another dossier does not open.
    expect(() => openPhone(env, 'HS-2', sealed!)).toThrow();
    // Random IV: the same number sealed twice differs.
    expect(sealPhone(env, 'HS-1', '0912345678')).not.toBe(sealed);
  });

  test('is not sealed when it is not a Vietnamese number', () => {
    expect(sealPhone(env, 'HS-1', '+1 202 555 0100')).toBeNull();
  });

  test('is kept only when the order has zns, a ZNS template and a key', () => {
    expect(znsEnabled(env)).toBe(true);
    expect(znsEnabled({ ...env, INVITE_CHANNEL_ORDER: ['telegram', 'zalo'] })).toBe(false);
    expect(znsEnabled({ ...env, ZALO_ZNS_TEMPLATE_ID: undefined })).toBe(false);
    expect(znsEnabled({ ...env, SECRETS_KEY: undefined })).toBe(false);
  });
});

describe('INVITE_CHANNEL_ORDER with zns', () => {
  test('refuses to start without the ZNS template, SECRETS_KEY and the Zalo app', () => {
    const parse = () => parseEnv({ NODE_ENV: 'test', INVITE_CHANNEL_ORDER: 'telegram,zns' });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(/ZALO_ZNS_TEMPLATE_ID: required when INVITE_CHANNEL_ORDER contains zns/);
    expect(parse).toThrow(/SECRETS_KEY: required/);
    expect(parse).toThrow(/ZALO_APP_ID: required/);
  });

  test('accepts it when they are set, and the default order has no zns', () => {
    const e = parseEnv({
      NODE_ENV: 'test',
      INVITE_CHANNEL_ORDER: 'zns,telegram',
      ZALO_ZNS_TEMPLATE_ID: 'T1',
      SECRETS_KEY,
      ZALO_APP_ID: '1',
    });
    expect(e.INVITE_CHANNEL_ORDER).toEqual(['zns', 'telegram']);
    expect(parseEnv({ NODE_ENV: 'test' }).INVITE_CHANNEL_ORDER).toEqual(['telegram', 'zalo']);
    expect(() => parseEnv({ NODE_ENV: 'test', INVITE_CHANNEL_ORDER: 'telegram,sms' })).toThrow(
      /INVITE_CHANNEL_ORDER/,
    );
  });
});
