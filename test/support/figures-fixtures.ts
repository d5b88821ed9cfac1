import { Dossier } from '../../models/dossier';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { rebuildRollups } from '../../workers/aggregation/rollups/rebuild';
import type { TestApp } from './app';

const ELEMENTS = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'];
let seq = 0;

/**
 * A completed dossier and its response through the answer store (the path the workers take),
 * one score per element; `rollUp` then builds the rollups the figures are read from.
 */
export async function respond(
  unitCode: string,
  at: string,
  values: number[],
  o: { channel?: 'in_person' | 'online' | 'post'; officer?: string; procedure?: string } = {},
): Promise<string> {
  seq++;
  const dossierCode = `FIG-${unitCode}-${seq}`;
  const procedure = o.procedure ?? '1.001234';
  const channel = o.channel ?? 'in_person';
  await Dossier.create({
    code: dossierCode,
    procedureCode: procedure,
    unitCode,
    channel,
    status: 'finished',
    finishedAt: new Date(at),
  });
  await storeCompletion(
    `resp-fig-${unitCode}-${seq}`,
    {
      dossierCode,
      unitCode,
      procedureCode: procedure,
      officerId: o.officer ?? 'cb-01',
      dossierChannel: channel,
      onlineLevel: null,
      surveyChannel: 'telegram',
      flowKey: 'default',
      flowVersion: 2,
      lang: 'vi',
      startedAt: at,
    },
    values.map((v, i) => ({
      questionId: `q${i + 1}`,
      element: ELEMENTS[i]!,
      type: 'single_choice',
      value: v,
      text: null,
    })),
    new Date(at),
  );
  return dossierCode;
}

export async function rollUp(t: TestApp): Promise<void> {
  await rebuildRollups({ redis: t.app.ctx.redis, prefix: t.app.ctx.prefix });
}
