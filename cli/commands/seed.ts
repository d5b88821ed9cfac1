import type { Command } from 'commander';
import mongoose from 'mongoose';
import { defaultFlow } from '../../bot/flow/default-flow';
import { ensureDefaultFlows } from '../../bot/flow/ensure-default';
import { FlowRepository } from '../../bot/flow/repository';
import { buildIndexes } from '../../lib/db/indexes';
import { env } from '../../config/env';
import { connectMongo, disconnectMongo } from '../../lib/mongo';
import { createProducerConnection } from '../../lib/redis';
import { hcmDay } from '../../lib/time';
import '../../models';
import { Dossier } from '../../models/dossier';
import { Procedure } from '../../models/procedure';
import { Response } from '../../models/response';
import { Unit } from '../../models/unit';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { rebuildRollups, type RebuildResult } from '../../workers/aggregation/rollups/rebuild';
import type { RollupDeps } from '../../workers/aggregation/rollups/epochs';
import { demoResponses } from '../seed-data/demo';
import { SEED_PROCEDURES } from '../seed-data/procedures';
import { SEED_UNITS } from '../seed-data/units';

export interface SeedReport {
  indexes: number;
  units: number;
  procedures: number;
  flowInserted: boolean;
  demoDossiers: number;
  demoResponses: number;
  /** The rollups rebuilt over the demo's days (null without --demo). */
  rollups: RebuildResult | null;
}

/**
 * What `--demo` needs besides the database: the rollups' Redis (their versions live there,
 * workers/aggregation/rollups/recompute.ts), so the reports show the demo's responses at once.
 */
export interface DemoSeedOptions {
  rollups: RollupDeps;
  now?: Date;
  demoCount?: number;
}

/**
 * `hailong seed [--demo]`. Idempotent: units and procedures are upserted by code (their
 * structural fields set from the seed data), each version of the default flow is inserted only
 * when absent (a published version is never modified), and demo data is keyed by stable ids.
 */
export async function runSeed(opts: { demo?: DemoSeedOptions } = {}): Promise<SeedReport> {
  // Unique indexes are what make ingest and this seed idempotent: build them first.
  const built = await buildIndexes();

  const units = await Unit.bulkWrite(
    SEED_UNITS.map((u) => ({
      updateOne: {
        filter: { code: u.code },
        update: {
          $set: {
            name: u.name,
            level: u.level,
            parentCode: u.parentCode,
            validFrom: u.validFrom,
            validTo: u.validTo,
            successorCode: u.successorCode,
          },
        },
        upsert: true,
      },
    })),
    { ordered: false },
  );
  const procedures = await Procedure.bulkWrite(
    SEED_PROCEDURES.map((p) => ({
      updateOne: {
        filter: { code: p.code },
        update: { $set: { name: p.name, field: p.field } },
        upsert: true,
      },
    })),
    { ordered: false },
  );
  const flowInserted = await ensureDefaultFlows(new FlowRepository());

  const report: SeedReport = {
    indexes: built.length,
    units: units.upsertedCount,
    procedures: procedures.upsertedCount,
    flowInserted,
    demoDossiers: 0,
    demoResponses: 0,
    rollups: null,
  };
  if (opts.demo) Object.assign(report, await seedDemo(opts.demo));
  return report;
}

/**
 * Demo dossiers and responses, then the rollups of their days: the responses are written with
 * the workers' persistence function directly, not through the queue, so the rollup jobs that
 * follow a completion never run for them. The rebuild is the one `hailong rollups rebuild` runs,
 * and runs again on a re-seed (a database seeded before it had no rollups).
 */
async function seedDemo(
  o: DemoSeedOptions,
): Promise<Pick<SeedReport, 'demoDossiers' | 'demoResponses' | 'rollups'>> {
  const flow = await new FlowRepository().get(defaultFlow.key, defaultFlow.version);
  const stored = await storeDemo(demoResponses(flow, o.now ?? new Date(), o.demoCount));
  const days = stored.days.sort();
  const rollups = days.length > 0 ? await rebuildRollups(o.rollups, days[0], days[days.length - 1]) : null;
  return { demoDossiers: stored.demoDossiers, demoResponses: stored.demoResponses, rollups };
}

/** Stores the demo responses not stored yet; `days` are the completion days of all of them. */
async function storeDemo(
  all: ReturnType<typeof demoResponses>,
): Promise<Pick<SeedReport, 'demoDossiers' | 'demoResponses'> & { days: string[] }> {
  const present = await Response.find(
    { responseId: { $in: all.map((d) => d.responseId) } },
    { _id: 0, responseId: 1, day: 1 },
  ).lean();
  const presentIds = new Set(present.map((r) => r.responseId));
  const fresh = all.filter((d) => !presentIds.has(d.responseId));
  const days = [
    ...new Set([
      ...present.map((r) => r.day).filter((d): d is string => !!d),
      ...fresh.map((d) => hcmDay(d.completedAt)),
    ]),
  ];
  if (fresh.length === 0) return { demoDossiers: 0, demoResponses: 0, days };

  const dossiers = await Dossier.bulkWrite(
    fresh.map(({ dossier: d, responseId, completedAt, meta }) => ({
      updateOne: {
        filter: { code: d.code },
        update: {
          $setOnInsert: {
            ...d,
            status: 'returned',
            source: 'demo',
            survey: { token: null, issuedAt: null, expiresAt: null, responseId },
            funnel: { invitedAt: null, openedAt: null, startedAt: new Date(meta.startedAt), completedAt },
          },
        },
        upsert: true,
      },
    })),
    { ordered: false },
  );
  // The workers' own persistence function, a few at a time.
  for (let i = 0; i < fresh.length; i += 16) {
    await Promise.all(
      fresh.slice(i, i + 16).map((d) => storeCompletion(d.responseId, d.meta, d.answers, d.completedAt)),
    );
  }
  return { demoDossiers: dossiers.upsertedCount, demoResponses: fresh.length, days };
}

export function registerSeedCommand(program: Command): void {
  program
    .command('seed')
    .description(
      'Tạo dữ liệu ban đầu: đơn vị Quảng Điền, thủ tục, bảng hỏi mặc định / seed units, procedures and the default flow',
    )
    .option('--demo', 'thêm hồ sơ và phản hồi mẫu 60 ngày gần nhất / also add demo dossiers and responses')
    .action(async (opts: { demo?: boolean }) => {
      const e = env();
      const own = mongoose.connection.readyState !== mongoose.ConnectionStates.connected;
      if (own) await connectMongo(e.MONGODB_URI);
      const redis = opts.demo ? createProducerConnection(e) : null;
      try {
        const report = await runSeed(redis ? { demo: { rollups: { redis, prefix: e.REDIS_PREFIX } } } : {});
        const r = report.rollups;
        console.log(
          `seed: ${report.units} new units, ${report.procedures} new procedures, default flow ${
            report.flowInserted ? 'inserted' : 'already present'
          }` +
            (opts.demo
              ? `, ${report.demoDossiers} demo dossiers, ${report.demoResponses} demo responses` +
                (r ? `; rollups rebuilt from ${r.responses} responses over ${r.days} days` : '')
              : ''),
        );
      } finally {
        redis?.disconnect();
        if (own) await disconnectMongo();
      }
    });
}
