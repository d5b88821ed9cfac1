import { randomUUID } from 'node:crypto';
import { hcmDay } from '../../lib/time';
import { Answer } from '../../models/answer';
import { Broadcast, type BroadcastStatus } from '../../models/broadcast';
import type { DeliveryCounts } from '../../workers/broadcast/delivery-store';
import { storedReport } from '../../workers/broadcast/progress';
import { Case } from '../../models/case';
import { Dossier } from '../../models/dossier';
import { Flag } from '../../models/flag';
import { Response } from '../../models/response';

/**
 * Survey data of one unit, written straight to the models, for the API's tests: a dossier with
 * its funnel, a completed response with a score and a free-text answer, its case, its flag, a
 * broadcast to the unit. Each call makes new ids, so a test that changes an object gets its own.
 */
const short = () => randomUUID().slice(0, 8);

export async function makeDossier(
  unitCode: string,
  opts: { invited?: boolean; reminders?: number; answered?: boolean; expired?: boolean } = {},
): Promise<string> {
  const code = `HS-${unitCode}-${short()}`;
  const now = Date.now();
  await Dossier.create({
    code,
    procedureCode: '1.001234',
    unitCode,
    channel: 'online',
    onlineLevel: 4,
    status: 'finished',
    finishedAt: new Date(now - 3_600_000),
    applicantPhoneHash: 'hash-of-a-phone',
    survey: {
      token: `tok-${short()}`,
      issuedAt: new Date(now - 3_000_000),
      expiresAt: new Date(opts.expired ? now - 60_000 : now + 86_400_000),
      responseId: null,
    },
    funnel: {
      invitedAt: opts.invited === false ? null : new Date(now - 3_000_000),
      completedAt: opts.answered ? new Date(now - 1_000_000) : null,
    },
    invitation: { channel: opts.invited === false ? null : 'telegram', remindersSent: opts.reminders ?? 0 },
  });
  return code;
}

/**
 * A finished dossier for each response of these units that names one the store lacks: what the
 * one-stop system would have sent, so the console's links to a dossier open it.
 */
export async function dossiersOfResponses(unitCodes: string[]): Promise<void> {
  const codes = await Response.distinct('dossierCode', { unitCode: { $in: unitCodes } });
  const known = new Set(await Dossier.distinct('code', { code: { $in: codes } }));
  const rows = await Response.find(
    { unitCode: { $in: unitCodes }, dossierCode: { $nin: [null, ...known] } },
    { _id: 0, dossierCode: 1, unitCode: 1, responseId: 1, completedAt: 1 },
  ).lean();
  if (!rows.length) return;
  await Dossier.insertMany(
    rows.map((r) => ({
      code: r.dossierCode,
      procedureCode: '1.001234',
      unitCode: r.unitCode,
      channel: 'in_person',
      status: 'finished',
      finishedAt: new Date((r.completedAt ?? new Date()).getTime() - 3_600_000),
      survey: {
        token: `tok-${short()}`,
        issuedAt: new Date(),
        expiresAt: new Date(),
        responseId: r.responseId,
      },
      funnel: { completedAt: r.completedAt ?? null },
    })),
    { ordered: false },
  );
}

export interface ResponseFixture {
  responseId: string;
  dossierCode: string;
}

export async function makeResponse(
  unitCode: string,
  opts: { score?: number; text?: string; day?: string; completedAt?: Date; surveyChannel?: string } = {},
): Promise<ResponseFixture> {
  const responseId = `r-${unitCode}-${short()}`;
  const dossierCode = `HS-${unitCode}-${short()}`;
  const completedAt = opts.completedAt ?? new Date();
  const day = opts.day ?? hcmDay(completedAt);
  const score = opts.score ?? 2;
  await Response.create({
    responseId,
    dossierCode,
    unitCode,
    procedureCode: '1.001234',
    officerId: 'cb-01',
    dossierChannel: 'in_person',
    surveyChannel: opts.surveyChannel ?? 'telegram',
    flowKey: 'default',
    flowVersion: 2,
    status: 'completed',
    startedAt: new Date(completedAt.getTime() - 60_000),
    completedAt,
    day,
    dissatisfied: score <= 2,
  });
  await Answer.insertMany([
    {
      responseId,
      questionId: 'q_tong_the',
      element: 'TONG_THE',
      type: 'scale',
      value: score,
      answeredAt: completedAt,
      unitCode,
      day,
    },
    {
      responseId,
      questionId: 'q_gop_y',
      element: null,
      type: 'text',
      value: null,
      text: opts.text ?? `Góp ý riêng của ${unitCode}`,
      answeredAt: completedAt,
      unitCode,
      day,
    },
  ]);
  return { responseId, dossierCode };
}

export async function makeCase(unitCode: string, opts: { dueInMs?: number } = {}): Promise<string> {
  const r = await makeResponse(unitCode);
  const caseId = `case-${r.responseId}`;
  const now = new Date();
  await Case.create({
    caseId,
    responseId: r.responseId,
    dossierCode: r.dossierCode,
    unitCode,
    procedureCode: '1.001234',
    items: [{ element: 'TONG_THE', questionId: 'q_tong_the', value: 2, reasons: [] }],
    status: 'open',
    openedAt: now,
    dueAt: new Date(now.getTime() + (opts.dueInMs ?? 86_400_000)),
    day: hcmDay(now),
    log: [{ at: now, by: 'system', action: 'opened' }],
  });
  return caseId;
}

/** A stored burst flag of a new response: its counts as the rule stores them, or (`oldDetail`) as flags stored before them. */
export async function makeFlag(unitCode: string, oldDetail?: string): Promise<string> {
  const r = await makeResponse(unitCode, { score: 5 });
  const day = hcmDay(new Date());
  await Flag.create({
    responseId: r.responseId,
    unitCode,
    day,
    reason: 'identical_burst',
    ...(oldDetail ? { detail: oldDetail } : { params: { count: 5, windowMin: 10 } }),
    createdAt: new Date(),
  });
  return r.responseId;
}

/** A finished broadcast's stored report as the finisher writes it (workers/broadcast/progress.ts). */
function fullReport(part: Partial<DeliveryCounts>): DeliveryCounts {
  const settled = ['sent', 'failed', 'blocked', 'skipped', 'cancelled'] as const;
  return storedReport({ total: settled.reduce((n, k) => n + (part[k] ?? 0), 0), ...part });
}

export async function makeBroadcast(
  unitCode: string | null,
  opts: { status?: BroadcastStatus; createdBy?: string; report?: Partial<DeliveryCounts> | null } = {},
): Promise<string> {
  const status = (opts.status ?? 'pending_approval') as BroadcastStatus;
  const doc = await Broadcast.create({
    text: `Thông báo cho ${unitCode ?? 'mọi đơn vị'}`,
    target: { unitCode, channels: ['telegram'] },
    status,
    createdBy: opts.createdBy ?? 'soan.thao',
    approvalRequired: status === 'pending_approval',
    recipientCount: 0,
    fanoutDone: status === 'completed',
    startedAt: ['fanning_out', 'sending', 'paused', 'completed'].includes(status) ? new Date() : null,
    finishedAt: status === 'completed' ? new Date() : null,
    report: opts.report ? fullReport(opts.report) : null,
  });
  return doc._id.toString();
}
