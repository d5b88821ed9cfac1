import type { Lang } from '../flow/schema';

/**
 * The channel-neutral vocabulary of the conversation engine. Channels map their events to
 * `Inbound` and render `Outbound`; the engine never does I/O.
 */

/** What a choice button does when pressed. Encoded into callback data by ./callback-data.ts. */
export type ChoiceAction =
  | { kind: 'pick'; step: number; node: string; value: string }
  | { kind: 'toggle'; step: number; node: string; value: string }
  | { kind: 'done'; step: number; node: string };

export interface Choice {
  label: string;
  action: ChoiceAction;
  selected?: boolean;
}

export type Inbound =
  | { kind: 'text'; text: string }
  | { kind: 'action'; action: ChoiceAction }
  | { kind: 'command'; name: 'help' | 'lang' | 'stop'; arg?: string };

export type Outbound =
  | { kind: 'text'; text: string }
  | {
      kind: 'question';
      node: string;
      step: number;
      text: string;
      /** Rows of buttons. Empty for typed answers (number, free text). */
      choices: Choice[][];
      multi: boolean;
      /** Hint for channels that cannot show all buttons (Zalo: 5): answer by typing numbers. */
      typedHint?: string;
    };

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
  /** Set when this turn finished the survey (status moved away from active). */
  finished?: Exclude<SessionStatus, 'active'>;
  /** Set when the citizen accepted the consent question of this flow. */
  consented?: boolean;
  /** True when the input changed nothing (stale button, re-ask). */
  unchanged?: boolean;
}
