import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { key } from '../../lib/redis';
import { reachesBack, type ChannelName } from '../channels/channel';
import { handle, startSession } from '../engine/engine';
import type { EngineResult, EngineState, Inbound, Outbound, RecordedAnswer } from '../engine/types';
import { GENERAL_VARS } from '../flow/default-flow';
import type { Flow, Lang } from '../flow/schema';

/** One turn of a preview: what the tester sent (null for the start) and what the engine said. */
export interface PreviewTurn {
  at: string;
  input: Inbound | null;
  messages: Outbound[];
  /** What a real survey would have recorded at this turn (never stored anywhere). */
  answers: RecordedAnswer[];
}

/** A throwaway conversation on a draft, kept in Redis only until it expires. */
export interface Preview {
  id: string;
  draftId: string;
  /** The draft's unit: who may see the preview (the API's scope). */
  unitCode: string | null;
  by: string;
  channel: ChannelName;
  /** The draft as it was when the preview started: later edits need a new preview. */
  flow: Flow;
  state: EngineState;
  turns: PreviewTurn[];
  startedAt: string;
  expiresAt: string;
}

/** The turns a preview keeps; a longer one forgets its oldest. */
const MAX_TURNS = 100;

/**
 * Previews of drafts through the real engine (bot/engine/engine.ts). Nothing of a preview reaches
 * MongoDB, the answer sink or any index: its state and turns live in Redis under the prefix with
 * an expiry, and the answers a real survey would record are only given back to the tester.
 */
export class PreviewStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlS = 1800,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private key(id: string): string {
    return key(this.prefix, 'preview', id);
  }

  async start(p: {
    draftId: string;
    unitCode: string | null;
    by: string;
    flow: Flow;
    lang: Lang;
    channel: ChannelName;
    vars?: Record<string, string>;
  }): Promise<{ preview: Preview; turn: PreviewTurn; finished: EngineResult['finished'] | null }> {
    const now = this.now();
    const result = startSession(p.flow, {
      lang: p.lang,
      vars: { ...GENERAL_VARS[p.lang], ...p.vars },
      reachable: reachesBack(p.channel),
    });
    const turn: PreviewTurn = { at: now.toISOString(), input: null, messages: result.messages, answers: [] };
    const preview: Preview = {
      id: randomUUID(),
      draftId: p.draftId,
      unitCode: p.unitCode,
      by: p.by,
      channel: p.channel,
      flow: p.flow,
      state: result.state,
      turns: [turn],
      startedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.ttlS * 1000).toISOString(),
    };
    await this.save(preview);
    return { preview, turn, finished: result.finished ?? null };
  }

  async get(id: string): Promise<Preview | null> {
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as Preview) : null;
  }

  /** One input through the engine; null when the preview has expired (or never was). */
  async send(
    id: string,
    input: Inbound,
  ): Promise<{ preview: Preview; turn: PreviewTurn; result: EngineResult } | null> {
    const preview = await this.get(id);
    if (!preview) return null;
    const result = handle(preview.flow, preview.state, input);
    const turn: PreviewTurn = {
      at: this.now().toISOString(),
      input,
      messages: result.messages,
      answers: result.answers,
    };
    const next: Preview = {
      ...preview,
      state: result.state,
      turns: [...preview.turns, turn].slice(-MAX_TURNS),
    };
    await this.save(next);
    return { preview: next, turn, result };
  }

  private async save(p: Preview): Promise<void> {
    // The expiry is the preview's own: inputs do not prolong it.
    const ms = Date.parse(p.expiresAt) - this.now().getTime();
    if (ms > 0) await this.redis.set(this.key(p.id), JSON.stringify(p), 'PX', ms);
  }
}
