import type { Command } from 'commander';
import mongoose from 'mongoose';
import { DEFAULT_FLOW_VERSIONS, defaultFlow } from '../../bot/flow/default-flow';
import { FlowRepository } from '../../bot/flow/repository';
import { env } from '../../config/env';
import { logger } from '../../lib/logger';
import { connectMongo, disconnectMongo } from '../../lib/mongo';
import '../../models';
import { Dossier } from '../../models/dossier';
import { Flow } from '../../models/flow';
import { Procedure } from '../../models/procedure';
import { Response } from '../../models/response';
import { Unit } from '../../models/unit';
import { storeCompletion } from '../../workers/jobs/answer-store';
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
}

/**
 * Steps to run after demo responses are stored (e.g. rebuilding rollups): demo responses are
 * written with the workers' persistence function directly, not through the queue, so the
 * `afterResponseComplete` job hooks do not run for them. Each step must be idempotent.
 */
export const afterDemoSeed: Array<(opts: { from: Date; to: Date }) => Promise<void>> = [];

/**
 * `hailong seed [--demo]`. Idempotent: units and procedures are upserted by code (their
 * structural fields set from the seed data), each version of the default flow is inserted only
 * when absent (a published version is never modified), and demo data is keyed by stable ids.
 */
export async function runSeed(
  opts: { demo?: boolean; now?: Date; demoCount?: number } = {},
): Promise<SeedReport> {
  // Unique indexes are what make ingest and this seed idempotent: build them first.
  const models = Object.values(mongoose.models);
  for (const m of models) await m.syncIndexes();

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
  const flows = new FlowRepository();
  const flowExisted = await Flow.exists({ key: defaultFlow.key, version: defaultFlow.version });
  for (const flow of DEFAULT_FLOW_VERSIONS) await flows.ensure(flow);

  const report: SeedReport = {
    indexes: models.length,
    units: units.upsertedCount,
    procedures: procedures.upsertedCount,
    flowInserted: !flowExisted,
    demoDossiers: 0,
    demoResponses: 0,
  };
  if (opts.demo) Object.assign(report, await seedDemo(opts.now ?? new Date(), opts.demoCount));
  return report;
}

async function seedDemo(
  now: Date,
  count?: number,
): Promise<Pick<SeedReport, 'demoDossiers' | 'demoResponses'>> {
  const flow = await new FlowRepository().get(defaultFlow.key, defaultFlow.version);
  const all = demoResponses(flow, now, count);
  const present = new Set(
    (
      await Response.find({ responseId: { $in: all.map((d) => d.responseId) } }, { responseId: 1 }).lean()
    ).map((r) => r.responseId),
  );
  const fresh = all.filter((d) => !present.has(d.responseId));
  if (fresh.length === 0) return { demoDossiers: 0, demoResponses: 0 };

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
  const times = fresh.map((d) => d.completedAt.getTime());
  for (const step of afterDemoSeed)
    await step({ from: new Date(Math.min(...times)), to: new Date(Math.max(...times)) });
  return { demoDossiers: dossiers.upsertedCount, demoResponses: fresh.length };
}

export function registerSeedCommand(program: Command): void {
  program
    .command('seed')
    .description(
      'Tạo dữ liệu ban đầu: đơn vị Quảng Điền, thủ tục, bảng hỏi mặc định / seed units, procedures and the default flow',
    )
    .option('--demo', 'thêm hồ sơ và phản hồi mẫu 60 ngày gần nhất / also add demo dossiers and responses')
    .action(async (opts: { demo?: boolean }) => {
      const own = mongoose.connection.readyState !== mongoose.ConnectionStates.connected;
      if (own) await connectMongo(env().MONGODB_URI);
      try {
        const report = await runSeed({ demo: opts.demo === true });
        logger.info(report, 'seed done');
        console.log(
          `seed: ${report.units} new units, ${report.procedures} new procedures, default flow ${
            report.flowInserted ? 'inserted' : 'already present'
          }` +
            (opts.demo
              ? `, ${report.demoDossiers} demo dossiers, ${report.demoResponses} demo responses`
              : ''),
        );
      } finally {
        if (own) await disconnectMongo();
      }
    });
}
