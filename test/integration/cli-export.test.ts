import { PassThrough } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { runSeed } from '../../cli/commands/seed';
import { ExportError, writeResponsesCsv, type ExportFilter } from '../../cli/export/responses-csv';
import { buildProgram } from '../../cli/program';
import { SUCCESSORS } from '../../cli/seed-data/units';
import { defaultFlowV1 } from '../../bot/flow/default-flow-v1';
import { FlowRepository } from '../../bot/flow/repository';
import { Response } from '../../models/response';
import { answerBatcher } from '../../workers/jobs/in-progress-answer-writer';
import { storeCompletion } from '../../workers/jobs/completed-response-writer';
import { meta, reasons, scale, suggestion } from '../support/ingest';
import { connectTestDb, dropTestDb } from '../support/services';

beforeAll(async () => {
  await connectTestDb('export');
  await runSeed();
  // Two responses in a 2020 commune of the district, one in a post-2025 ward, one unfinished.
  await storeCompletion(
    'resp-exp-00001',
    meta({ dossierCode: 'HS-001', unitCode: '19870', procedureCode: 'DEMO-HT-KHAISINH' }),
    [
      scale('q1', 'TIEP_CAN', 2),
      reasons('r1', 'TIEP_CAN', ['cho', 'khac'], 'phải chờ 2 giờ'),
      scale('q5', 'PAKN', 0),
      scale('q6', 'TONG_THE', 3),
      suggestion('=HYPERLINK("http://x")'),
    ],
    new Date('2025-03-10T17:30:00Z'),
  );
  await storeCompletion(
    'resp-exp-00002',
    meta({
      dossierCode: 'HS-002',
      unitCode: '19870',
      dossierChannel: 'online',
      onlineLevel: 4,
      surveyChannel: 'zalo',
    }),
    [scale('q1', 'TIEP_CAN', 5), scale('q6', 'TONG_THE', 5)],
    new Date('2025-03-12T03:00:00Z'),
  );
  await storeCompletion(
    'resp-exp-00003',
    meta({ dossierCode: 'HS-003', unitCode: SUCCESSORS.hoaChau }),
    [scale('q1', 'TIEP_CAN', 4), scale('q6', 'TONG_THE', 4)],
    new Date('2025-08-01T03:00:00Z'),
  );
  // A survey in progress: its first answer through the answers.record job's batcher.
  await answerBatcher.add({
    responseId: 'resp-exp-00004',
    meta: meta({ dossierCode: 'HS-004' }),
    answer: scale('q1', 'TIEP_CAN', 4),
    answeredAt: new Date('2025-03-10T03:00:00Z'),
  });
});
afterAll(dropTestDb);

async function exportCsv(
  filter: ExportFilter = {},
): Promise<{ raw: Buffer; rows: Array<Record<string, string>> }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await writeResponsesCsv(out, filter);
  const raw = Buffer.concat(chunks);
  return { raw, rows: parse<Record<string, string>>(raw, { bom: true, columns: true }) };
}

test('UTF-8 with BOM, Vietnamese headers, one row per completed response, one column per question, answers as labels', async () => {
  const { raw, rows } = await exportCsv();
  expect([...raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  const header = raw.subarray(3).toString('utf8').split('\r\n')[0];
  expect(header).toMatch(/^Mã phản hồi,Mã hồ sơ,Mã đơn vị,Đơn vị,Mã thủ tục,Thủ tục,/);
  expect(header).toContain('q1. Nơi tiếp nhận hoặc cổng DVC có thuận tiện');
  expect(header).toContain('r1. Khác (ghi rõ)');
  expect(header).not.toContain('consent');

  // The survey in progress is stored (as started) but not exported.
  expect(await Response.countDocuments({ responseId: 'resp-exp-00004', status: 'started' })).toBe(1);
  expect(rows.map((r) => r['Mã phản hồi'])).toEqual(['resp-exp-00001', 'resp-exp-00002', 'resp-exp-00003']);
  const first = rows[0];
  expect(first).toMatchObject({
    'Mã hồ sơ': 'HS-001',
    'Đơn vị': 'Xã Quảng Thái',
    'Thủ tục': 'Đăng ký khai sinh',
    'Hình thức nộp hồ sơ': 'Trực tiếp',
    'Kênh khảo sát': 'Telegram',
    // 17:30 UTC is 00:30 the next day in Vietnam.
    'Hoàn thành': '11/03/2025 00:30',
    'Bắt đầu': '10/03/2025 09:00',
    'Không hài lòng': 'Có',
  });
  const col = (id: string) => Object.keys(first).find((k) => k.startsWith(`${id}. `))!;
  // The words the citizen chose, never the stored codes; 0 is "not applicable".
  expect(first[col('q1')]).toBe('2. Không hài lòng');
  expect(first[col('r1')]).toBe('Chờ lâu, thiếu chỗ; Khác');
  expect(first['r1. Khác (ghi rõ)']).toBe('phải chờ 2 giờ');
  expect(first[col('q5')]).toBe('Không áp dụng');
  expect(first[col('q6')]).toBe('3. Bình thường');
  expect(first[col('q2')]).toBe('');
  // A citizen's text never becomes a spreadsheet formula.
  expect(first[col('q7')]).toBe('\'=HYPERLINK("http://x")');
  expect(rows[1]).toMatchObject({
    'Hình thức nộp hồ sơ': 'Trực tuyến',
    'Mức độ DVC trực tuyến': '4',
    'Kênh khảo sát': 'Zalo',
    'Không hài lòng': 'Không',
  });
});

test('--unit keeps the unit and the units below it, including communes merged into it', async () => {
  expect((await exportCsv({ unit: '477' })).rows.map((r) => r['Mã phản hồi'])).toEqual([
    'resp-exp-00001',
    'resp-exp-00002',
  ]);
  expect((await exportCsv({ unit: SUCCESSORS.danDien })).rows.map((r) => r['Mã phản hồi'])).toEqual([
    'resp-exp-00001',
    'resp-exp-00002',
  ]);
  expect((await exportCsv({ unit: SUCCESSORS.hoaChau })).rows.map((r) => r['Mã phản hồi'])).toEqual([
    'resp-exp-00003',
  ]);
  expect((await exportCsv({ unit: '46' })).rows).toHaveLength(3);
  expect((await exportCsv({ unit: SUCCESSORS.phongQuang })).rows).toHaveLength(0);
  await expect(exportCsv({ unit: 'NOPE' })).rejects.toBeInstanceOf(ExportError);
});

test('--from/--to are inclusive Vietnam days of completion', async () => {
  expect((await exportCsv({ from: '2025-03-11', to: '2025-03-12' })).rows).toHaveLength(2);
  expect((await exportCsv({ to: '2025-03-10' })).rows).toHaveLength(0);
  expect((await exportCsv({ from: '2025-03-12' })).rows.map((r) => r['Mã phản hồi'])).toEqual([
    'resp-exp-00002',
    'resp-exp-00003',
  ]);
  await expect(exportCsv({ from: '2025-13-01' })).rejects.toThrow(/--from: expected a day/);
});

test('`hailong export responses --format csv --unit 477` writes the CSV to stdout', async () => {
  const written: Buffer[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(Buffer.from(chunk));
    return true;
  });
  const err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    await buildProgram()
      .exitOverride()
      .parseAsync(['export', 'responses', '--format', 'csv', '--unit', '477'], { from: 'user' });
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
  const rows = parse<Record<string, string>>(Buffer.concat(written), { bom: true, columns: true });
  expect(rows.map((r) => r['Mã hồ sơ'])).toEqual(['HS-001', 'HS-002']);
});

test('after a new flow version, each answer stays under the wording and labels of the version it was given in', async () => {
  // A new version (after the seeded default@1 and @2) rewords v1's q1 and one of r1's options;
  // q2 and q6 keep their words.
  const v2 = await new FlowRepository().publish({
    ...defaultFlowV1,
    nodes: defaultFlowV1.nodes.map((n) => {
      if (n.id === 'q1')
        return {
          ...n,
          text: { vi: 'Nơi tiếp nhận có thuận tiện không?', en: 'Was the counter convenient?' },
        };
      if (n.id === 'r1' && n.type === 'multi_choice')
        return {
          ...n,
          options: n.options.map((o) =>
            o.value === 'cho'
              ? { ...o, label: { vi: 'Phải chờ quá 30 phút', en: 'Waited over 30 minutes' } }
              : o,
          ),
        };
      return n;
    }),
  });
  expect(v2.version).toBe(3);
  const unit = SUCCESSORS.phongQuang;
  await storeCompletion(
    'resp-exp-00005',
    meta({ dossierCode: 'HS-005', unitCode: unit }),
    [scale('q1', 'TIEP_CAN', 1), reasons('r1', 'TIEP_CAN', ['cho']), scale('q6', 'TONG_THE', 2)],
    new Date('2025-09-01T03:00:00Z'),
  );
  await storeCompletion(
    'resp-exp-00006',
    meta({ dossierCode: 'HS-006', unitCode: unit, flowVersion: v2.version }),
    [scale('q1', 'TIEP_CAN', 2), reasons('r1', 'TIEP_CAN', ['cho']), scale('q6', 'TONG_THE', 4)],
    new Date('2025-09-02T03:00:00Z'),
  );

  const { rows } = await exportCsv({ unit });
  const header = Object.keys(rows[0]);
  const newQ1 = 'q1 (default@3). Nơi tiếp nhận có thuận tiện không?';
  const oldQ1 = 'q1 (default@1). Nơi tiếp nhận hoặc cổng DVC có thuận tiện (hướng dẫn, chỗ ngồi, thiết bị)?';
  expect(header).toContain(newQ1);
  expect(header).toContain(oldQ1);
  // Unchanged questions stay one column for both versions.
  expect(header.filter((h) => h.startsWith('q6'))).toEqual(['q6. Nhìn chung Ông/Bà hài lòng ở mức nào?']);
  const r1 = header.filter((h) => h.startsWith('r1.'));
  expect(r1).toEqual(['r1. Chưa hài lòng vì sao?', 'r1. Khác (ghi rõ)']);

  const [old, fresh] = rows;
  expect(old).toMatchObject({
    'Mã phản hồi': 'resp-exp-00005',
    'Phiên bản bảng hỏi': 'default@1',
    [oldQ1]: '1. Rất không hài lòng',
    [newQ1]: '',
    'r1. Chưa hài lòng vì sao?': 'Chờ lâu, thiếu chỗ',
    'q6. Nhìn chung Ông/Bà hài lòng ở mức nào?': '2. Không hài lòng',
  });
  expect(fresh).toMatchObject({
    'Mã phản hồi': 'resp-exp-00006',
    'Phiên bản bảng hỏi': 'default@3',
    [oldQ1]: '',
    [newQ1]: '2. Không hài lòng',
    'r1. Chưa hài lòng vì sao?': 'Phải chờ quá 30 phút',
    'q6. Nhìn chung Ông/Bà hài lòng ở mức nào?': '4. Hài lòng',
  });
});
