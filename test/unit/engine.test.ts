import { decodeAction, encodeAction } from '../../bot/engine/callback-data';
import { opensCase } from '../../bot/engine/dissatisfaction';
import { currentQuestion, handle, startSession } from '../../bot/engine/engine';
import type {
  ChoiceAction,
  EngineResult,
  EngineState,
  Outbound,
  RecordedAnswer,
} from '../../bot/engine/types';
import { defaultFlow } from '../../bot/flow/default-flow';
import { defaultFlowV1 } from '../../bot/flow/default-flow-v1';
import { flowSchema, type Flow } from '../../bot/flow/schema';
import { validateFlow } from '../../bot/flow/validate';
import { dissatisfiedItems } from '../../workers/aggregation/cases/open-case';
import { conformanceFlow } from '../support/conformance-flow';

const vars = { ma: '000.00.19.H57-250101-0001', donvi: 'UBND xã Quảng Thái', thutuc: 'Chứng thực' };
const flow = defaultFlow;

function question(r: EngineResult): Extract<Outbound, { kind: 'question' }> {
  const q = r.messages
    .filter((m): m is Extract<Outbound, { kind: 'question' }> => m.kind === 'question')
    .at(-1);
  if (!q) throw new Error(`no question in ${JSON.stringify(r.messages)}`);
  return q;
}
function actionFor(r: EngineResult, value: string, kind: ChoiceAction['kind'] = 'pick'): ChoiceAction {
  const q = question(r);
  const found = q.choices
    .flat()
    .find((c) => c.action.kind === kind && ('value' in c.action ? c.action.value === value : true));
  if (!found) throw new Error(`no ${kind} ${value} on ${q.node}`);
  return found.action;
}
function pick(prev: EngineResult, value: string): EngineResult {
  return handle(flow, prev.state, { kind: 'action', action: actionFor(prev, value) });
}
function begin(lang: 'vi' | 'en' = 'vi'): EngineResult {
  return startSession(flow, { lang, vars });
}

describe('conversation engine over the default flow', () => {
  test('starts with the consent question naming the unit and the dossier', () => {
    const r = begin();
    const q = question(r);
    expect(q.node).toBe('consent');
    expect(q.text).toContain(
      `${vars.donvi} trân trọng mời Ông/Bà cho ý kiến về việc giải quyết hồ sơ ${vars.ma}.`,
    );
    expect(q.text.endsWith('Ông/Bà có đồng ý tham gia không?')).toBe(true);
    expect(q.expects).toBe('choice');
    expect(q.choices.flat().map((c) => c.label)).toEqual(['Đồng ý', 'Không đồng ý']);
    expect(r.state.status).toBe('active');
  });

  test('declining consent ends the survey and keeps no answer', () => {
    const r = pick(begin(), 'no');
    expect(r.finished).toBe('declined');
    expect(r.answers).toEqual([]);
    expect(r.state.answers).toEqual({});
    expect(r.messages.at(-1)).toMatchObject({ kind: 'text', text: expect.stringContaining('không lưu') });
  });

  test('a fully satisfied citizen goes straight through q1..q7 to the thank-you naming the unit', () => {
    let r = pick(begin(), 'yes');
    expect(r.consented).toBe(true);
    const seen: string[] = [];
    for (const node of ['q1', 'q2', 'q3', 'q4', 'q5', 'q6']) {
      expect(question(r).node).toBe(node);
      seen.push(node);
      r = pick(r, '5');
      expect(r.answers).toEqual([expect.objectContaining({ questionId: node, value: 5 })]);
    }
    expect(question(r).node).toBe('q7');
    r = handle(flow, r.state, { kind: 'text', text: 'Bỏ qua' });
    expect(r.answers).toEqual([]);
    expect(r.finished).toBe('completed');
    expect(r.messages).toEqual([
      {
        kind: 'text',
        text: `Trân trọng cảm ơn Ông/Bà đã dành thời gian cho ý kiến. Ý kiến của Ông/Bà đã được gửi đến ${vars.donvi}.`,
      },
    ]);
    expect(Object.keys(r.state.answers).sort()).toEqual(seen);
  });

  test.each([
    ['q1', 'r1', 'TIEP_CAN', 'cho'],
    ['q2', 'r2', 'TTHC', 'phi'],
    ['q3', 'r3', 'CONG_CHUC', 'thai_do'],
    ['q4', 'r4', 'KET_QUA', 'tre_hen'],
    ['q5', 'r5', 'PAKN', 'cham'],
  ])('a 1 or 2 on %s asks why (%s) and then continues', (q, reason, element, value) => {
    for (const score of ['1', '2']) {
      let r = pick(begin(), 'yes');
      while (question(r).node !== q) r = pick(r, '4');
      r = pick(r, score);
      expect(question(r).node).toBe(reason);
      expect(question(r).expects).toBe('multi');
      r = handle(flow, r.state, { kind: 'action', action: actionFor(r, value, 'toggle') });
      expect(
        r.updateChoices?.flat().find((c) => c.action.kind === 'toggle' && c.action.value === value)?.selected,
      ).toBe(true);
      const done = r.updateChoices!.flat().find((c) => c.action.kind === 'done')!.action;
      r = handle(flow, r.state, { kind: 'action', action: done });
      expect(r.answers).toEqual([
        { questionId: reason, element, type: 'multi_choice', value: [value], text: null },
      ]);
      // The labels chosen are given back (the web chat shows them, chat apps in the acknowledgement).
      expect(r.chosen).toHaveLength(1);
      expect(r.ack).toBe(`Đã chọn: ${r.chosen![0]}`);
      const next = `q${Number(q.slice(1)) + 1}`;
      expect(question(r).node).toBe(next);
    }
  });

  test('a 3 does not ask why', () => {
    let r = pick(begin(), 'yes');
    r = pick(r, '3');
    expect(question(r).node).toBe('q2');
  });

  test('q5 accepts "not applicable" as 0 and does not branch', () => {
    let r = pick(begin(), 'yes');
    while (question(r).node !== 'q5') r = pick(r, '5');
    expect(
      question(r)
        .choices.flat()
        .map((c) => c.label),
    ).toContain('Chưa góp ý, phản ánh');
    r = pick(r, '0');
    expect(r.answers[0]).toMatchObject({ questionId: 'q5', element: 'PAKN', value: 0 });
    expect(question(r).node).toBe('q6');
  });

  test('"Khác" asks for free text and records it with the selection', () => {
    let r = pick(pick(begin(), 'yes'), '1');
    expect(question(r).node).toBe('r1');
    r = handle(flow, r.state, { kind: 'text', text: '2, 4' });
    expect(r.answers).toEqual([]);
    expect(r.messages).toEqual([
      expect.objectContaining({
        kind: 'question',
        node: 'r1',
        expects: 'text',
        text: 'Xin Ông/Bà ghi rõ lý do khác:',
      }),
    ]);
    r = handle(flow, r.state, { kind: 'text', text: 'Không có wifi' });
    expect(r.answers).toEqual([
      {
        questionId: 'r1',
        element: 'TIEP_CAN',
        type: 'multi_choice',
        value: ['cho', 'khac'],
        text: 'Không có wifi',
      },
    ]);
    expect(question(r).node).toBe('q2');
  });

  test('pressing Done with nothing selected asks to choose and changes nothing', () => {
    let r = pick(pick(begin(), 'yes'), '2');
    const before = r.state;
    r = handle(flow, r.state, { kind: 'action', action: { kind: 'done', step: before.step, node: 'r1' } });
    expect(r.unchanged).toBe(true);
    expect(r.ack).toContain('Xin chọn ít nhất 1');
    expect(r.state).toBe(before);
  });

  test('typed answers work: scale value, option number and label', () => {
    let r = handle(flow, begin().state, { kind: 'text', text: '1' });
    expect(question(r).node).toBe('q1');
    r = handle(flow, r.state, { kind: 'text', text: '4' });
    expect(r.answers[0]).toMatchObject({ questionId: 'q1', value: 4 });
    r = handle(flow, r.state, { kind: 'text', text: 'rat hai long' });
    expect(r.answers[0]).toMatchObject({ questionId: 'q2', value: 5 });
  });

  test('re-asks the question when the reply is not an option', () => {
    const start = begin();
    const r = handle(flow, start.state, { kind: 'text', text: 'có lẽ' });
    expect(r.unchanged).toBe(true);
    expect(r.state).toBe(start.state);
    expect(r.messages[0]).toEqual({ kind: 'text', text: expect.stringContaining('Xin vui lòng chọn') });
    expect(question(r).node).toBe('consent');
  });

  test('a button from an old question is answered "câu hỏi này đã được trả lời" and changes nothing', () => {
    const first = begin();
    const r1 = pick(first, 'yes');
    const again = handle(flow, r1.state, { kind: 'action', action: actionFor(first, 'yes') });
    expect(again.ack).toBe('Câu hỏi này đã được trả lời.');
    expect(again.unchanged).toBe(true);
    expect(again.state).toBe(r1.state);
    expect(again.messages).toEqual([]);
  });

  test('a button after the survey finished is stale', () => {
    let r = pick(begin(), 'yes');
    for (let i = 0; i < 6; i++) r = pick(r, '5');
    const q7 = r;
    r = handle(flow, r.state, { kind: 'text', text: 'Rất tốt' });
    expect(r.finished).toBe('completed');
    expect(r.answers).toEqual([
      { questionId: 'q7', element: null, type: 'free_text', value: null, text: 'Rất tốt' },
    ]);
    const late = handle(flow, r.state, {
      kind: 'action',
      action: { kind: 'pick', step: q7.state.step - 1, node: 'q6', value: '1' },
    });
    expect(late.ack).toBe('Câu hỏi này đã được trả lời.');
    expect(late.answers).toEqual([]);
  });

  test('/stop ends the survey, /help explains and repeats the question, /lang switches to English', () => {
    const s = begin();
    const help = handle(flow, s.state, { kind: 'command', name: 'help' });
    expect(help.messages[0]).toMatchObject({ kind: 'text', text: expect.stringContaining('/stop') });
    expect(question(help).node).toBe('consent');
    const en = handle(flow, s.state, { kind: 'command', name: 'lang' });
    expect(en.state.lang).toBe('en');
    expect(question(en).text).toContain(
      `invites you to give your opinion on how dossier ${vars.ma} was handled`,
    );
    const stop = handle(flow, s.state, { kind: 'command', name: 'stop' });
    expect(stop.finished).toBe('stopped');
    expect(stop.state.status).toBe('stopped');
  });

  test('the whole survey in English uses English texts', () => {
    const r = pick(begin('en'), 'yes');
    expect(question(r).text).toMatch(/^How satisfied are you with access to the service/);
    expect(question(r).choices.flat()[3].label).toBe('4. Satisfied');
  });

  test('callback data round-trips and fits 64 bytes', () => {
    const a: ChoiceAction = {
      kind: 'toggle',
      step: 1_679_615,
      node: 'abcdefghijklmnop',
      value: 'abcdefghijklmnop',
    };
    const s = encodeAction(a);
    expect(Buffer.byteLength(s)).toBeLessThanOrEqual(64);
    expect(decodeAction(s)).toEqual(a);
    expect(decodeAction('p:1:q1')).toBeNull();
    expect(decodeAction('x:1:q1:1')).toBeNull();
    expect(decodeAction('p:1:Q1:1')).toBeNull();
  });

  test('the engine never mutates the state it is given', () => {
    const s: EngineState = begin().state;
    const frozen = JSON.stringify(s);
    pick({ state: s, messages: begin().messages, answers: [] }, 'yes');
    expect(JSON.stringify(s)).toBe(frozen);
  });
});

function walk(
  f: Flow,
  first: EngineResult,
  inputs: Array<Parameters<typeof handle>[2] | ((r: EngineResult) => Parameters<typeof handle>[2])>,
): EngineResult[] {
  const seen = [first];
  for (const i of inputs) {
    const prev = seen.at(-1)!;
    // A toggle asks nothing new: buttons come from the last question asked.
    const asked = [...seen].reverse().find((r) => r.messages.some((m) => m.kind === 'question'))!;
    seen.push(handle(f, prev.state, typeof i === 'function' ? i({ ...prev, messages: asked.messages }) : i));
  }
  return seen;
}
const act = (kind: ChoiceAction['kind'], value?: string) => (r: EngineResult) => ({
  kind: 'action' as const,
  action: actionFor(r, value ?? '', kind),
});

describe('what every question expects (the Outbound vocabulary)', () => {
  const script = [
    act('pick', 'yes'),
    act('pick', 'b'),
    act('toggle', 'a'),
    act('toggle', 'khac'),
    act('done'),
    { kind: 'text' as const, text: 'Giấy tờ thất lạc' },
    act('pick', '0'),
    act('pick', '4'),
    { kind: 'text' as const, text: '3' },
    { kind: 'text' as const, text: 'Khai sinh' },
    act('skip'),
  ];

  test('every question says what answer it expects and carries a control for it', () => {
    const turns = walk(conformanceFlow, startSession(conformanceFlow, { lang: 'vi', vars }), script);
    const asked = turns
      .flatMap((r) => r.messages)
      .filter((m): m is Extract<Outbound, { kind: 'question' }> => m.kind === 'question');
    expect(asked.map((q) => `${q.node}:${q.expects}${q.optional ? '?' : ''}`)).toEqual([
      'consent:choice',
      'c1:choice',
      'm1:multi',
      'm1:text?',
      's1:choice',
      'rt:choice',
      'nb:number',
      'ft:text',
      'op:text?',
    ]);
    for (const q of asked) {
      const kinds = q.choices.flat().map((c) => c.action.kind);
      if (q.expects === 'choice') expect(kinds.length > 0 && kinds.every((k) => k === 'pick')).toBe(true);
      if (q.expects === 'multi')
        expect(kinds).toEqual([...q.choices.slice(0, -1).map(() => 'toggle'), 'done']);
      if (q.expects === 'text' || q.expects === 'number') expect(kinds).toEqual(q.optional ? ['skip'] : []);
    }
    expect(turns.at(-1)!.finished).toBe('completed');
    expect(turns.at(-1)!.state.answers.m1).toMatchObject({ value: ['a', 'khac'], text: 'Giấy tờ thất lạc' });
    expect(turns.at(-1)!.state.answers.op).toBeUndefined();
  });

  test('"Khác" asks for the other reason as a typed question, and resume, /help and /lang ask it again, not the answered buttons', () => {
    const [, , , , , other] = walk(
      conformanceFlow,
      startSession(conformanceFlow, { lang: 'vi', vars }),
      script.slice(0, 5),
    );
    expect(other.messages).toEqual([
      expect.objectContaining({
        kind: 'question',
        node: 'm1',
        expects: 'text',
        text: 'Xin Ông/Bà ghi rõ lý do khác:',
      }),
    ]);
    const again = [
      currentQuestion(conformanceFlow, other.state),
      handle(conformanceFlow, other.state, { kind: 'command', name: 'help' }).messages,
      handle(conformanceFlow, other.state, { kind: 'command', name: 'lang' }).messages,
    ];
    for (const msgs of again)
      expect(msgs.at(-1)).toMatchObject({ kind: 'question', node: 'm1', expects: 'text', optional: true });
    // The other reason may be skipped: the choice itself stands.
    const skip = other.messages[0]!.kind === 'question' ? other.messages[0]!.choices.flat()[0]! : null;
    expect(skip?.label).toBe('Bỏ qua');
    const skipped = handle(conformanceFlow, other.state, { kind: 'action', action: skip!.action });
    expect(skipped.answers).toEqual([
      { questionId: 'm1', element: 'TIEP_CAN', type: 'multi_choice', value: ['a', 'khac'], text: null },
    ]);
    expect(skipped.chosen).toEqual(['Bỏ qua']);
    expect(question(skipped).node).toBe('s1');
    // An invalid text re-asks the typed question (never the dead buttons).
    const reask = handle(conformanceFlow, other.state, { kind: 'text', text: 'x'.repeat(1001) });
    expect(reask.messages.at(-1)).toMatchObject({ kind: 'question', expects: 'text' });
  });

  test('an optional question offers "Bỏ qua": the button skips it, and typing "bỏ qua" still does', () => {
    let r = pick(begin(), 'yes');
    for (let i = 0; i < 6; i++) r = pick(r, '5');
    const q7 = question(r);
    expect(q7).toMatchObject({ node: 'q7', expects: 'text', optional: true });
    expect(q7.choices.flat().map((c) => c.label)).toEqual(['Bỏ qua']);
    const byButton = handle(flow, r.state, { kind: 'action', action: actionFor(r, '', 'skip') });
    expect(byButton.finished).toBe('completed');
    expect(byButton.answers).toEqual([]);
    expect(byButton.chosen).toEqual(['Bỏ qua']);
    expect(handle(flow, r.state, { kind: 'text', text: 'bỏ qua' }).finished).toBe('completed');
    // A required question has no skip, and a forged skip changes nothing.
    const ft = walk(
      conformanceFlow,
      startSession(conformanceFlow, { lang: 'vi', vars }),
      script.slice(0, 9),
    ).at(-1)!;
    expect(question(ft)).toMatchObject({ node: 'ft', optional: false, choices: [] });
    expect(
      handle(conformanceFlow, ft.state, {
        kind: 'action',
        action: { kind: 'skip', step: ft.state.step, node: 'ft' },
      }).unchanged,
    ).toBe(true);
  });

  test('skip buttons round-trip through callback data', () => {
    const a: ChoiceAction = { kind: 'skip', step: 1_679_615, node: 'abcdefghijklmnop' };
    expect(decodeAction(encodeAction(a))).toEqual(a);
  });
});

describe('progress ("Câu 3/7")', () => {
  test("counts the main questions: q1..q7 are 1/7..7/7, a reason shows its parent's number, consent none", () => {
    let r = begin();
    expect(question(r).progress).toBeUndefined();
    r = pick(r, 'yes');
    expect(question(r).progress).toEqual({ index: 1, total: 7, label: 'Câu 1/7' });
    r = pick(r, '2');
    expect(question(r)).toMatchObject({ node: 'r1', progress: { index: 1, total: 7, label: 'Câu 1/7' } });
    r = handle(flow, r.state, { kind: 'text', text: '1' });
    expect(question(r)).toMatchObject({ node: 'q2', progress: { label: 'Câu 2/7' } });
    for (let i = 0; i < 5; i++) r = pick(r, '5');
    expect(question(r)).toMatchObject({ node: 'q7', progress: { label: 'Câu 7/7' } });
    expect(question(handle(flow, r.state, { kind: 'command', name: 'lang' })).progress?.label).toBe(
      'Question 7 of 7',
    );
  });

  test('is left out when a follow-up could belong to two main questions', () => {
    // "x" follows both "a" (a 1 there) and "b" (a 1 there): whose number would it show?
    const q = (id: string, next: string) => ({
      id,
      type: 'scale5',
      text: { vi: id },
      next,
      branches: [{ when: { lte: 1 }, to: 'x' }],
    });
    const shared = flowSchema.parse({
      key: 'shared',
      version: 1,
      title: { vi: 't' },
      start: 'a',
      nodes: [
        q('a', 'b'),
        q('b', 'end'),
        { id: 'x', type: 'free_text', text: { vi: 'x' }, next: 'end' },
        { id: 'end', type: 'message', text: { vi: 'hết' } },
      ],
    });
    expect(validateFlow(shared).ok).toBe(true);
    expect(question(startSession(shared, { lang: 'vi', vars })).progress).toBeUndefined();
    // Without the second way in, the count is honest again.
    const single = { ...shared, nodes: shared.nodes.map((n) => (n.id === 'b' ? { ...n, branches: [] } : n)) };
    expect(question(startSession(single, { lang: 'vi', vars })).progress?.label).toBe('Câu 1/2');
  });
});

describe('the thank-you of a dissatisfied citizen', () => {
  function finish(score: string, reachable: boolean): EngineResult {
    let r = pick(startSession(flow, { lang: 'vi', vars, reachable }), 'yes');
    while (question(r).node !== 'q7') {
      const q = question(r);
      r =
        q.expects === 'multi'
          ? handle(flow, r.state, { kind: 'text', text: '1' })
          : pick(r, q.node === 'q3' ? score : '4');
    }
    return handle(flow, r.state, { kind: 'text', text: 'bỏ qua' });
  }

  test('says the unit head will see it; on a chat app the unit may contact them there', () => {
    const r = finish('1', true);
    expect(r.finished).toBe('completed');
    expect(r.messages.at(-1)).toEqual({
      kind: 'text',
      text: expect.stringContaining(`sẽ được chuyển đến lãnh đạo ${vars.donvi}`),
    });
    expect(r.messages.at(-1)).toEqual({
      kind: 'text',
      text: expect.stringContaining('có thể liên hệ lại với Ông/Bà qua kênh này'),
    });
  });

  test('on the web chat it says honestly that the unit cannot contact them', () => {
    const text = (finish('2', false).messages.at(-1) as { text: string }).text;
    expect(text).toContain(`sẽ được chuyển đến lãnh đạo ${vars.donvi}`);
    expect(text).toContain('không thể liên hệ lại');
    expect(text).not.toContain('qua kênh này');
  });

  test('a citizen with no 1 or 2 gets the plain thanks, whatever the channel', () => {
    for (const reachable of [true, false])
      expect(finish('3', reachable).messages.at(-1)).toEqual({
        kind: 'text',
        text: expect.stringMatching(/^Trân trọng cảm ơn Ông\/Bà đã dành thời gian/),
      });
  });

  test('"dissatisfied" opens a case exactly when the case worker finds an item', () => {
    const values: RecordedAnswer['value'][] = [0, 1, 2, 3, 4, 5, null, 'yes', ['cho'], '1'];
    for (const element of ['TIEP_CAN', 'TONG_THE', null])
      for (const value of values)
        for (const other of [4, 1]) {
          const answers: RecordedAnswer[] = [
            { questionId: 'x', element, type: 'scale5', value, text: null },
            { questionId: 'y', element: 'KET_QUA', type: 'scale5', value: other, text: null },
          ];
          expect(opensCase(answers)).toBe(dissatisfiedItems(answers).length > 0);
        }
  });
});

describe('default@2 wording', () => {
  test('asks every element as a satisfaction level, formally, without abbreviations, and keeps the method of default@1', () => {
    const scales = flow.nodes.filter((n) => n.type === 'scale5');
    for (const n of scales) {
      expect(n.text.vi).toMatch(/Ông\/Bà hài lòng ở mức nào với/);
      expect(n.text.en).toMatch(/[Hh]ow satisfied are you/);
    }
    for (const n of flow.nodes) {
      expect(n.text.vi).not.toMatch(/\bDVC\b|chứ\?/);
      if (n.type === 'multi_choice') expect(n.text.vi).toBe('Ông/Bà chưa hài lòng về điều gì?');
    }
    expect(flow.nodes.find((n) => n.id === 'consent')!.text.vi).toMatch(
      /Ông\/Bà có đồng ý tham gia không\?$/,
    );
    // Same nodes, element codes, option values and branches as version 1: only the words changed.
    const shape = (f: Flow) =>
      f.nodes.map((n) => ({
        id: n.id,
        type: n.type,
        element: n.element,
        next: n.next,
        branches: n.branches,
        options: 'options' in n ? n.options.map((o) => [o.value, !!o.other]) : null,
        na: n.type === 'scale5' ? !!n.notApplicable : null,
      }));
    expect(shape(flow)).toEqual(shape(defaultFlowV1));
    expect([defaultFlowV1.version, flow.version]).toEqual([1, 2]);
  });
});
