import { handle, nodeById, startSession } from '../../bot/engine/engine';
import type { EngineResult, EngineState, Inbound, RecordedAnswer } from '../../bot/engine/types';
import type { Flow } from '../../bot/flow/schema';
import type { ResponseMeta } from '../../bot/conversation/ports';
import { SEED_PROCEDURES } from './procedures';
import { SUCCESSORS } from './units';

/**
 * Demo data for dashboards: dossiers of the seeded units and completed responses spread over
 * the last 60 days. Answers are produced by driving the real conversation engine with a
 * simulated citizen, so they have exactly the shape the bot records. Deterministic for a given
 * `now` and `seed`; ids are stable (`DEMO-…`, `demo-…`) so a re-run adds nothing twice.
 */

export interface DemoDossier {
  code: string;
  procedureCode: string;
  procedureName: string;
  unitCode: string;
  channel: 'in_person' | 'online' | 'post';
  onlineLevel: number | null;
  officerId: string;
  receivedAt: Date;
  dueAt: Date;
  finishedAt: Date;
  returnedAt: Date;
}

export interface DemoResponse {
  dossier: DemoDossier;
  responseId: string;
  meta: ResponseMeta;
  answers: RecordedAnswer[];
  completedAt: Date;
}

/** Mulberry32: small, seedable, good enough for demo data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Units people rate differently, so the dashboards have something to compare. */
const UNIT_MOOD: Array<[string, number]> = [
  [SUCCESSORS.quangDien, 4.3],
  [SUCCESSORS.danDien, 3.9],
  [SUCCESSORS.phongQuang, 3.5],
  [SUCCESSORS.hoaChau, 4.5],
];

const SUGGESTIONS = [
  'Nên bố trí thêm ghế chờ.',
  'Cán bộ hướng dẫn nhiệt tình, cảm ơn.',
  'Cổng dịch vụ công đôi khi chậm.',
  'Mong niêm yết phí rõ hơn.',
];

export function demoResponses(flow: Flow, now: Date, count = 300, seed = 20250701): DemoResponse[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const noise = () => (rand() + rand() + rand() - 1.5) * 1.6;
  const out: DemoResponse[] = [];
  for (let i = 1; i <= count; i++) {
    const [unitCode, mood] = pick(UNIT_MOOD);
    const proc = pick(SEED_PROCEDURES);
    const r = rand();
    const channel = r < 0.6 ? 'in_person' : r < 0.95 ? 'online' : 'post';
    const onlineLevel = channel === 'online' ? (rand() < 0.5 ? 3 : 4) : null;
    // Working hours in Vietnam (07:30-17:00, UTC+7) of one of the last 60 days.
    const dayStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - 7 * 3600_000;
    const returnedAt = new Date(
      dayStart - Math.floor(rand() * 60) * 86400_000 + Math.floor((7.5 + rand() * 9.5) * 3600_000),
    );
    const completedAt = new Date(returnedAt.getTime() + Math.floor((0.2 + rand() * 30) * 3600_000));
    if (completedAt.getTime() > now.getTime()) continue;
    const receivedAt = new Date(returnedAt.getTime() - Math.floor((1 + rand() * 9) * 86400_000));
    const dossier: DemoDossier = {
      code: `DEMO-${String(i).padStart(6, '0')}`,
      procedureCode: proc.code,
      procedureName: proc.name,
      unitCode,
      channel,
      onlineLevel,
      officerId: `DEMO-CB-${unitCode.slice(3, 6)}-${1 + Math.floor(rand() * 3)}`,
      receivedAt,
      dueAt: new Date(receivedAt.getTime() + 7 * 86400_000),
      finishedAt: new Date(returnedAt.getTime() - 3600_000),
      returnedAt,
    };
    const lang = rand() < 0.95 ? 'vi' : 'en';
    const citizenMood = mood + noise();
    const answers = simulate(flow, lang, { ma: dossier.code, donvi: unitCode, thutuc: proc.name }, rand, () =>
      Math.max(1, Math.min(5, Math.round(citizenMood + noise() * 0.6))),
    );
    if (!answers) continue;
    const r2 = rand();
    out.push({
      dossier,
      responseId: `demo-${String(i).padStart(6, '0')}`,
      completedAt,
      answers,
      meta: {
        dossierCode: dossier.code,
        unitCode,
        procedureCode: proc.code,
        officerId: dossier.officerId,
        dossierChannel: channel,
        onlineLevel,
        surveyChannel: r2 < 0.6 ? 'telegram' : r2 < 0.9 ? 'zalo' : 'web',
        flowKey: flow.key,
        flowVersion: flow.version,
        lang,
        startedAt: new Date(completedAt.getTime() - Math.floor((60 + rand() * 240) * 1000)).toISOString(),
      },
    });
  }
  return out;
}

/** One simulated citizen through the engine; null when the flow did not complete. */
function simulate(
  flow: Flow,
  lang: 'vi' | 'en',
  vars: Record<string, string>,
  rand: () => number,
  score: () => number,
): RecordedAnswer[] | null {
  let result: EngineResult = startSession(flow, { lang, vars });
  let state: EngineState = result.state;
  const answers: RecordedAnswer[] = [];
  for (let turn = 0; state.status === 'active' && state.current && turn < 200; turn++) {
    const input = nextInput(flow, state, rand, score);
    result = handle(flow, state, input);
    answers.push(...result.answers);
    state = result.state;
  }
  return state.status === 'completed' ? answers : null;
}

function nextInput(flow: Flow, state: EngineState, rand: () => number, score: () => number): Inbound {
  const node = nodeById(flow, state.current!);
  const base = { step: state.step, node: node.id };
  if (state.awaitingOther) return { kind: 'text', text: 'Ý kiến khác (dữ liệu mẫu)' };
  switch (node.type) {
    case 'single_choice': {
      const value = node.consent
        ? node.consent.acceptValue
        : node.options[Math.floor(rand() * node.options.length)].value;
      return { kind: 'action', action: { kind: 'pick', ...base, value } };
    }
    case 'scale5': {
      // "Not applicable" (e.g. never gave feedback) is common where offered.
      const value = node.notApplicable && rand() < 0.45 ? '0' : String(score());
      return { kind: 'action', action: { kind: 'pick', ...base, value } };
    }
    case 'rating':
      return {
        kind: 'action',
        action: { kind: 'pick', ...base, value: String(1 + Math.floor(rand() * node.max)) },
      };
    case 'multi_choice': {
      const unpicked = node.options.filter((o) => !state.selection.includes(o.value));
      const enough = state.selection.length >= Math.max(1, node.minSelected);
      if (unpicked.length === 0 || (enough && rand() < 0.6)) {
        return { kind: 'action', action: { kind: 'done', ...base } };
      }
      const o = unpicked[Math.floor(rand() * unpicked.length)];
      // "Khác" asks for free text; pick it only now and then.
      if (o.other && rand() < 0.7 && unpicked.length > 1) {
        const plain = unpicked.filter((x) => !x.other);
        return { kind: 'action', action: { kind: 'toggle', ...base, value: plain[0].value } };
      }
      return { kind: 'action', action: { kind: 'toggle', ...base, value: o.value } };
    }
    case 'number':
      return { kind: 'text', text: String(node.min) };
    case 'free_text':
      return {
        kind: 'text',
        text:
          rand() < 0.2 || !node.optional ? SUGGESTIONS[Math.floor(rand() * SUGGESTIONS.length)] : 'bỏ qua',
      };
    case 'message':
      return { kind: 'text', text: '' };
  }
}
