import type { Lang } from '../flow/schema';

/**
 * The channel-neutral vocabulary of the conversation engine. Channels map their events to
 * `Inbound` and render `Outbound`; the engine never does I/O.
 */

/** What a choice button does when pressed. Encoded into callback data by ./callback-data.ts. */
export type ChoiceAction =
  | { kind: 'pick'; step: number; node: string; value: string }
  | { kind: 'toggle'; step: number; node: string; value: string }
  | { kind: 'done'; step: number; node: string }
  | { kind: 'skip'; step: number; node: string };

export interface Choice {
  label: string;
  action: ChoiceAction;
  selected?: boolean;
}

export type Inbound =
  | { kind: 'text'; text: string }
  | { kind: 'action'; action: ChoiceAction }
  | { kind: 'command'; name: 'help' | 'lang' | 'stop'; arg?: string };

/**
 * The answer a question waits for. Every channel renders its control from this, never from the
 * shape of `choices`: `choice` one button (or its typed number), `multi` toggles and "Xong" (or
 * typed numbers), `text` and `number` a typed reply.
 */
export type Expects = 'choice' | 'multi' | 'text' | 'number';

export interface QuestionOutbound {
  kind: 'question';
  node: string;
  step: number;
  text: string;
  expects: Expects;
  /**
   * Rows of buttons: the options for `choice` and `multi` (with "Xong" last), and for an optional
   * typed answer the "Bỏ qua" button alone. Empty for a required typed answer.
   */
  choices: Choice[][];
  /** The question may be skipped: a `skip` choice is among `choices`, and typing "bỏ qua" works. */
  optional: boolean;
  /** For `text`: the longest answer accepted. */
  maxLength?: number;
  /** Where the question sits in the flow ("Câu 3/7"), when the flow's shape allows (./progress.ts). */
  progress?: { index: number; total: number; label: string };
  /** Hint for channels that cannot show all buttons (Zalo: 5): answer by typing numbers. */
  typedHint?: string;
}

export type Outbound = { kind: 'text'; text: string } | QuestionOutbound;

/** Answer recorded by a turn, handed to the ingest queue by the caller. */
export interface RecordedAnswer {
  questionId: string;
  element: string | null;
  type: string;
  value: number | string | string[] | null;
  text: string | null;
}

export type SessionStatus = 'active' | 'completed' | 'declined' | 'stopped' | 'expired';

export interface EngineState {
  flowKey: string;
  flowVersion: number;
  lang: Lang;
  status: SessionStatus;
  /** Node currently waiting for an answer; null once finished. */
  current: string | null;
  /** Increments each time a question is asked: buttons of an older step are stale. */
  step: number;
  /** Multi-choice selection being built. */
  selection: string[];
  /** Waiting for the free text of an "other" option of this node. */
  awaitingOther: boolean;
  /** Answers so far, by node id (for branching and the final record). */
  answers: Record<string, RecordedAnswer>;
  /** Placeholder values: ma (dossier code), donvi (unit name), thutuc (procedure name). */
  vars: Record<string, string>;
  /**
   * The channel can write to the citizen again later (a chat app: Telegram, Zalo), so the unit
   * may follow up on a complaint there. Absent (sessions started before it existed): not assumed.
   */
  reachable?: boolean;
}

export interface EngineResult {
  state: EngineState;
  messages: Outbound[];
  /** Answers completed by this turn. */
  answers: RecordedAnswer[];
  /** Text for the channel's button acknowledgement (Telegram answerCallbackQuery); may be empty. */
  ack?: string;
  /** For a button turn: how the pressed message's buttons should now look (null removes them). */
  updateChoices?: Choice[][] | null;
  /** For a button turn that answered: the labels of what was chosen (the web chat shows them back). */
  chosen?: string[];
  /** Set when this turn finished the survey (status moved away from active). */
  finished?: Exclude<SessionStatus, 'active'>;
  /** Set when the citizen accepted the consent question of this flow. */
  consented?: boolean;
  /** True when the input changed nothing (stale button, re-ask). */
  unchanged?: boolean;
}
