import type { RedisClient } from '../../../lib/redis';
import { BlockList, isIP } from 'node:net';
import { hcmDay } from '../../../lib/time';
import type { ResponseCompletePayload } from '../../jobs/response-meta';
import type { JobContext } from '../../registry';
import { upsertFlags } from './flags';

/**
 * Integrity rule "counter network": a web-chat answer sent from the one-stop shop's own network
 * (COUNTER_NETWORKS) looks filled in at the counter, not by the citizen. Only web chat carries the
 * sender's IP; Telegram and Zalo do not, so the rule applies to web chat only. The IP itself is
 * never stored: the web route checks it at answer time and keeps a boolean mark per dossier
 * (Redis, expiring with the survey link); the check after completion turns the mark into a flag.
 */
export interface CounterNetworks {
  /** Networks of every unit. */
  all: BlockList;
  /** Networks of one unit (UNITCODE=CIDR). */
  byUnit: Map<string, BlockList>;
  size: number;
}

function addCidr(list: BlockList, cidr: string): void {
  const [addr, bits] = cidr.split('/');
  const family = isIP(addr ?? '');
  const prefix = Number(bits);
  if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
    throw new Error(`COUNTER_NETWORKS: "${cidr}" is not a CIDR network`);
  }
  list.addSubnet(addr!, prefix, family === 4 ? 'ipv4' : 'ipv6');
}

/** Parses COUNTER_NETWORKS entries ("10.1.0.0/16", "19870=203.0.113.0/28"); throws on a bad one. */
export function parseCounterNetworks(entries: readonly string[]): CounterNetworks {
  const nets: CounterNetworks = { all: new BlockList(), byUnit: new Map(), size: 0 };
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const unit = eq > 0 ? entry.slice(0, eq) : null;
    const cidr = eq > 0 ? entry.slice(eq + 1) : entry;
    let list = nets.all;
    if (unit) {
      list = nets.byUnit.get(unit) ?? new BlockList();
      nets.byUnit.set(unit, list);
    }
    addCidr(list, cidr);
    nets.size++;
  }
  return nets;
}

/** True when `ip` (v4, v6 or v4-mapped v6) is in a network of every unit or of `unitCode`. */
export function isCounterAddress(nets: CounterNetworks, ip: string, unitCode: string | null): boolean {
  if (nets.size === 0) return false;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  const addr = mapped ? mapped[1]! : ip;
  const family = isIP(addr);
  if (family === 0) return false;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (nets.all.check(addr, type)) return true;
  const unit = unitCode ? nets.byUnit.get(unitCode) : undefined;
  return !!unit && unit.check(addr, type);
}

const markKey = (prefix: string, dossierCode: string) => `${prefix}:integ:counter:${dossierCode}`;

/** Remembers that an answer for this dossier came from a counter network (a boolean, never the IP). */
export async function markCounterAnswer(
  redis: RedisClient,
  prefix: string,
  dossierCode: string,
  ttlS: number,
): Promise<void> {
  await redis.set(markKey(prefix, dossierCode), '1', 'EX', Math.max(60, Math.ceil(ttlS)));
}

/** After completion: a web-chat response whose dossier carries the mark is flagged `counter_network`. */
export async function checkCounterNetwork(
  p: ResponseCompletePayload,
  ctx: Pick<JobContext, 'redis' | 'prefix'>,
  now = new Date(),
): Promise<boolean> {
  const { dossierCode, unitCode, surveyChannel } = p.meta;
  if (surveyChannel !== 'web' || !dossierCode || !unitCode) return false;
  if ((await ctx.redis.exists(markKey(ctx.prefix, dossierCode))) === 0) return false;
  await upsertFlags(
    [{ responseId: p.responseId, unitCode, day: hcmDay(new Date(p.completedAt)) }],
    'counter_network',
    {},
    now,
  );
  return true;
}
