import {
  responseFilters,
  scoresOf,
  skipCode,
  timeline,
  valueText,
  withQuery,
  type DossierDetail,
} from '../../bot/http/console/pages/dossiers-model';

const base: DossierDetail = {
  code: 'HS-1',
  unitCode: 'QD-DAN-DIEN',
  procedureCode: '1.001234',
  procedureName: null,
  channel: 'in_person',
  onlineLevel: null,
  status: 'finished',
  officerId: null,
  receivedAt: '2026-03-01T02:00:00.000Z',
  dueAt: null,
  finishedAt: '2026-03-02T02:00:00.000Z',
  responseId: null,
  funnel: {
    stage: 'invited',
    invitedAt: '2026-03-02T03:00:00.000Z',
    invitationChannel: 'telegram',
    invitationSkipped: null,
    reminders: 0,
    openedAt: null,
    startedAt: null,
    answeredAt: null,
    expiresAt: '2026-03-09T03:00:00.000Z',
    expired: false,
  },
};
const states = (d: DossierDetail) => timeline(d).map((s) => `${s.key}:${s.state}`);

describe('timeline', () => {
  test('an invited dossier: done up to the invitation, the rest to come, the link’s end noted', () => {
    expect(states(base)).toEqual([
      'received:done',
      'finished:done',
      'invited:done',
      'reminded:todo',
      'opened:todo',
      'started:todo',
      'answered:todo',
    ]);
    const steps = timeline(base);
    expect(steps[2]!.note).toEqual({ key: 'dossiers.note.channel', vars: { channel: 'telegram' } });
    expect(steps[3]!.note).toEqual({ key: 'dossiers.note.reminders', vars: { n: 0 } });
    expect(steps[6]!.note).toEqual({ key: 'dossiers.note.expiresAt', vars: { at: base.funnel.expiresAt! } });
  });

  test('an expired link ends the path as missed, at the link’s end', () => {
    const d = { ...base, funnel: { ...base.funnel, stage: 'expired' as const, reminders: 2, expired: true } };
    const last = timeline(d).at(-1)!;
    expect(last).toEqual({ key: 'expired', state: 'missed', at: base.funnel.expiresAt });
    expect(states(d)).toContain('reminded:done');
  });

  test('an invitation not sent is missed with its reason; an unknown reason reads as "other"', () => {
    const f = { ...base.funnel, stage: 'not_invited' as const, invitedAt: null, invitationChannel: null };
    const noChannel = timeline({ ...base, funnel: { ...f, invitationSkipped: 'no_channel' } })[2]!;
    expect(noChannel).toMatchObject({ state: 'missed', note: { key: 'dossiers.skip.no_channel' } });
    expect(skipCode('something_new')).toBe('other');
    expect(timeline({ ...base, funnel: { ...f, invitationSkipped: null } })[2]).toEqual({
      key: 'invited',
      state: 'todo',
      at: null,
    });
  });

  test('an answered dossier is done all the way, with each time', () => {
    const at = (h: number) => `2026-03-02T0${h}:00:00.000Z`;
    const d = {
      ...base,
      funnel: { ...base.funnel, reminders: 1, openedAt: at(4), startedAt: at(5), answeredAt: at(6) },
    };
    const steps = timeline(d);
    expect(steps.every((s) => s.state === 'done')).toBe(true);
    expect(steps.at(-1)).toEqual({ key: 'answered', state: 'done', at: at(6) });
  });
});

describe('responseFilters', () => {
  test('keeps what the form offers, trimmed', () => {
    expect(
      responseFilters({
        unit: ' QD-DAN-DIEN ',
        period: '2026-Q1',
        channel: 'online_4',
        surveyChannel: 'zalo',
        rating: 'dissatisfied',
        score: '1-2',
        element: 'TIEP_CAN',
        procedure: '1.001234',
        officer: 'CB-1',
      }),
    ).toEqual({
      unit: 'QD-DAN-DIEN',
      period: '2026-Q1',
      channel: 'online_4',
      surveyChannel: 'zalo',
      rating: 'dissatisfied',
      score: '1-2',
      element: 'TIEP_CAN',
      procedure: '1.001234',
      officer: 'CB-1',
    });
  });

  test('drops what the form could not have sent, and an element without a score', () => {
    expect(
      responseFilters({
        unit: 'x y',
        period: '2026-13',
        channel: 'fax',
        surveyChannel: 'sms',
        rating: 'happy',
        score: '3-1',
        element: 'TIEP_CAN',
        officer: '',
      }),
    ).toEqual({});
    expect(responseFilters({ element: 'TONG_THE' })).toEqual({});
    expect(responseFilters({ score: '5', element: 'KHAC' })).toEqual({ score: '5' });
  });
});

test('scoresOf keeps the rated answers; valueText shows a value as stored', () => {
  expect(
    scoresOf([
      { questionId: 'q1', element: 'TIEP_CAN', type: 'scale5', value: 2, hasText: false },
      { questionId: 'r1', element: 'TIEP_CAN', type: 'multi_choice', value: ['cho'], hasText: true },
      { questionId: 'q5', element: 'PAKN', type: 'scale5', value: 0, hasText: false },
      { questionId: 'q7', element: null, type: 'free_text', value: null, hasText: true },
    ]),
  ).toEqual([
    { element: 'TIEP_CAN', value: 2 },
    { element: 'PAKN', value: 0 },
  ]);
  expect(valueText(['cho', 'khac'])).toBe('cho, khac');
  expect(valueText(null)).toBe('');
  expect(valueText(4)).toBe('4');
});

test('withQuery leaves out the empty parameters', () => {
  expect(withQuery('/admin/dossiers', {})).toBe('/admin/dossiers');
  expect(withQuery('/x', { a: '1', b: undefined, c: '', d: 'é&' })).toBe('/x?a=1&d=%C3%A9%26');
});
