import { Answer } from '../../models/answer';
import { Response } from '../../models/response';
import { ingestHarness, meta, reasons, scale, suggestion, waitForIdle, waitForJob } from '../support/ingest';

const { producer } = ingestHarness('ingest', { workers: true });

const ingest = () => producer.getQueue('ingest');

test('the same answer added twice with its jobId is stored once', async () => {
  const payload = {
    responseId: 'resp-same-0001',
    meta: meta(),
    answer: scale('q1', 'TIEP_CAN', 4),
    answeredAt: '2025-03-10T02:01:00.000Z',
  };
  const first = await producer.add(
    'answers.record',
    { items: [payload] },
    { jobId: 'ans-resp-same-0001-q1' },
  );
  expect(first).toBe('ans-resp-same-0001-q1');
  await waitForJob(ingest(), first);
  // BullMQ still holds the completed job: the second add is ignored.
  await producer.add('answers.record', { items: [payload] }, { jobId: 'ans-resp-same-0001-q1' });
  await waitForIdle(ingest());
  expect(await Answer.countDocuments({ responseId: 'resp-same-0001' })).toBe(1);
  expect(await Response.countDocuments({ responseId: 'resp-same-0001' })).toBe(1);
  const job = await ingest().getJob(first);
  expect(job?.attemptsMade).toBe(1);
});

test('a duplicated delivery under another jobId (or a retry) stores nothing twice', async () => {
  const payload = {
    responseId: 'resp-dup-00001',
    meta: meta(),
    answer: scale('q2', 'TTHC', 5),
    answeredAt: '2025-03-10T02:02:00.000Z',
  };
  const ids = await Promise.all([
    producer.add('answers.record', { items: [payload] }, { jobId: 'dup-a' }),
    producer.add('answers.record', { items: [payload] }, { jobId: 'dup-b' }),
    producer.add('answers.record', { items: [payload] }),
  ]);
  await Promise.all(ids.map((id) => waitForJob(ingest(), id)));
  const answers = await Answer.find({ responseId: 'resp-dup-00001' }).lean();
  expect(answers).toHaveLength(1);
  expect(answers[0]).toMatchObject({ questionId: 'q2', element: 'TTHC', value: 5 });
  expect(await Response.countDocuments({ responseId: 'resp-dup-00001' })).toBe(1);
});

test('an answer arriving after completion never reverts the response to started', async () => {
  const id = 'resp-late-0001';
  const answers = [scale('q1', 'TIEP_CAN', 5), scale('q6', 'TONG_THE', 4)];
  const done = await producer.add(
    'response.complete',
    { responseId: id, meta: meta(), answers, completedAt: '2025-03-10T03:00:00.000Z' },
    { jobId: `done-${id}` },
  );
  expect(await waitForJob(ingest(), done)).toBe('completed');
  const late = await producer.add(
    'answers.record',
    {
      items: [
        {
          responseId: id,
          meta: meta({ surveyChannel: 'zalo' }),
          answer: answers[0],
          answeredAt: '2025-03-10T02:10:00.000Z',
        },
      ],
    },
    { jobId: `ans-${id}-q1` },
  );
  expect(await waitForJob(ingest(), late)).toBe('completed');
  const r = await Response.findOne({ responseId: id }).lean();
  expect(r).toMatchObject({ status: 'completed', surveyChannel: 'telegram', day: '2025-03-10' });
  expect(r?.completedAt?.toISOString()).toBe('2025-03-10T03:00:00.000Z');
  expect(await Answer.countDocuments({ responseId: id })).toBe(2);
});

test('completion before its answers stores every answer once, with the day and dissatisfaction', async () => {
  const id = 'resp-first-001';
  const answers = [
    scale('q1', 'TIEP_CAN', 2),
    reasons('r1', 'TIEP_CAN', ['cho', 'khac'], 'xếp hàng'),
    scale('q6', 'TONG_THE', 3),
    suggestion('thêm ghế'),
  ];
  // 17:30 UTC is 00:30 the next day in Vietnam.
  const done = await producer.add('response.complete', {
    responseId: id,
    meta: meta(),
    answers,
    completedAt: '2025-03-10T17:30:00.000Z',
  });
  await waitForJob(ingest(), done);
  // Then the answer jobs of the same turns, late, one of them twice.
  for (const a of [...answers, answers[0]]) {
    await producer.add('answers.record', {
      items: [
        {
          responseId: id,
          meta: meta(),
          answer: a,
          answeredAt: '2025-03-10T17:29:00.000Z',
        },
      ],
    });
  }
  await waitForIdle(ingest());
  const r = await Response.findOne({ responseId: id }).lean();
  expect(r).toMatchObject({ status: 'completed', day: '2025-03-11', dissatisfied: true });
  const stored = await Answer.find({ responseId: id }).sort({ questionId: 1 }).lean();
  expect(stored.map((a) => a.questionId)).toEqual(['q1', 'q6', 'q7', 'r1']);
  expect(stored.find((a) => a.questionId === 'r1')).toMatchObject({
    value: ['cho', 'khac'],
    text: 'xếp hàng',
  });
});

test('a response without a 1 or 2 on an element is not dissatisfied (0 = not applicable)', async () => {
  const id = 'resp-happy-001';
  const done = await producer.add('response.complete', {
    responseId: id,
    meta: meta(),
    answers: [scale('q1', 'TIEP_CAN', 4), scale('q5', 'PAKN', 0), scale('q6', 'TONG_THE', 5)],
    completedAt: '2025-03-10T04:00:00.000Z',
  });
  await waitForJob(ingest(), done);
  expect(await Response.findOne({ responseId: id }).lean()).toMatchObject({
    status: 'completed',
    dissatisfied: false,
  });
});

test('answers and completions of many responses racing on several workers store each document once', async () => {
  const n = 25;
  const jobs: Array<Promise<string>> = [];
  for (let i = 0; i < n; i++) {
    const id = `resp-race-${String(i).padStart(4, '0')}`;
    const answers = [
      scale('q1', 'TIEP_CAN', 1 + (i % 5)),
      scale('q2', 'TTHC', 4),
      scale('q6', 'TONG_THE', 5),
    ];
    for (const a of answers) {
      jobs.push(
        producer.add('answers.record', {
          items: [
            {
              responseId: id,
              meta: meta(),
              answer: a,
              answeredAt: '2025-03-11T01:00:00.000Z',
            },
          ],
        }),
      );
    }
    jobs.push(
      producer.add('response.complete', {
        responseId: id,
        meta: meta(),
        answers,
        completedAt: '2025-03-11T01:01:00.000Z',
      }),
    );
    jobs.push(
      producer.add('response.complete', {
        responseId: id,
        meta: meta(),
        answers,
        completedAt: '2025-03-11T01:01:00.000Z',
      }),
    );
  }
  const ids = await Promise.all(jobs);
  const states = await Promise.all(ids.map((id) => waitForJob(ingest(), id)));
  expect(states.every((s) => s === 'completed')).toBe(true);
  // Racing upserts of a new response or answer are settled inside the job: no attempt failed
  // on them (hooks run after the store may still retry for their own reasons).
  const traces = await Promise.all(ids.map(async (id) => (await ingest().getJob(id))?.stacktrace ?? []));
  expect(traces.flat().filter((t) => /\.(responses|answers)\b/.test(t))).toEqual([]);
  const filter = { responseId: { $regex: /^resp-race-/ } };
  expect(await Response.countDocuments(filter)).toBe(n);
  expect(await Response.countDocuments({ ...filter, status: 'completed' })).toBe(n);
  expect(await Answer.countDocuments(filter)).toBe(3 * n);
});

test('identity fields in a payload are dropped: responses and answers hold no contact, phone or chat id', async () => {
  const id = 'resp-ident-001';
  const smuggled = {
    ...meta(),
    contactId: 'c-1',
    phone: '0912345678',
    chatId: 123456,
  } as unknown as ReturnType<typeof meta>;
  const done = await producer.add('response.complete', {
    responseId: id,
    meta: smuggled,
    answers: [{ ...scale('q1', 'TIEP_CAN', 5), chatId: 1 } as ReturnType<typeof scale>],
    completedAt: '2025-03-10T05:00:00.000Z',
  });
  await waitForJob(ingest(), done);
  const r = (await Response.collection.findOne({ responseId: id }))!;
  const a = (await Answer.collection.findOne({ responseId: id }))!;
  for (const doc of [r, a]) {
    const keys = Object.keys(doc).join(',');
    expect(keys).not.toMatch(/contact|phone|chat/i);
  }
  expect(JSON.stringify(r)).not.toContain('0912345678');
});

test('a completion queued right behind its answers finds them inserted and only stamps them', async () => {
  // As the bot enqueues a survey's last turn: its answers' job, then the completion. The answers
  // wait in the worker's batch (10 ms) while the completion is already running: it must not
  // overtake them (answerBatcher.drain() in response-complete.ts), or it would upsert them
  // itself (answeredAt = completedAt) and their insert would be refused by the unique index.
  const id = 'resp-behind-01';
  const answers = [scale('q1', 'TIEP_CAN', 4), scale('q2', 'TTHC', 5), suggestion('ok')];
  const turnAt = '2025-03-10T02:20:00.000Z';
  const record = await producer.add('answers.record', {
    items: answers.map((answer) => ({ responseId: id, meta: meta(), answer, answeredAt: turnAt })),
  });
  const done = await producer.add(
    'response.complete',
    { responseId: id, meta: meta(), answers, completedAt: '2025-03-10T03:00:00.000Z' },
    { jobId: `done-${id}` },
  );
  await Promise.all([waitForJob(ingest(), record), waitForJob(ingest(), done)]);
  const stored = await Answer.find({ responseId: id }, { _id: 0, questionId: 1, answeredAt: 1, day: 1 })
    .sort({ questionId: 1 })
    .lean();
  expect(stored.map((a) => [a.questionId, a.answeredAt.toISOString(), a.day])).toEqual([
    ['q1', turnAt, '2025-03-10'],
    ['q2', turnAt, '2025-03-10'],
    ['q7', turnAt, '2025-03-10'],
  ]);
  expect(await Response.findOne({ responseId: id }, { _id: 0, status: 1 }).lean()).toEqual({
    status: 'completed',
  });
});
