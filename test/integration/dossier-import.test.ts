import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { importDossiers } from '../../cli/commands/import-dossiers';
import { runCli } from '../../cli/program';
import { Dossier } from '../../models/dossier';
import { Unit } from '../../models/unit';
import { connectTestDb, dropTestDb } from '../support/services';

const dir = mkdtempSync(join(tmpdir(), 'hl-import-'));

beforeAll(async () => {
  await connectTestDb('dossierimport');
  await Unit.create({ code: '19867', name: 'Thị trấn Sịa', level: 'town' });
});
afterAll(dropTestDb);

const header =
  'code,procedureCode,procedureName,unitCode,channel,onlineLevel,receivedAt,dueAt,finishedAt,returnedAt,status,officerId,phone';
const csv = [
  header,
  'IMP-250314-0001,1.001234,Đăng ký khai sinh,19867,in_person,,2025-03-14T09:30:00+07:00,2025-03-17T17:00:00+07:00,2025-03-16T10:00:00+07:00,,finished,cb-1,0912345678',
  'IMP-250314-0002,1.001234,"Đăng ký kết hôn, lần đầu",19867,online,4,2025-03-14T09:30:00+07:00,,,,processing,,',
  'IMP-250314-0003,1.001234,x,19867,fax,,,,,,finished,,12',
  'IMP-250314-0004,1.001234,x,99999,post,,,,2025-03-16,,finished,,',
].join('\n');

test('imports a CSV with a per-row error report, and a re-run changes nothing', async () => {
  const file = join(dir, 'dossiers.csv');
  writeFileSync(file, `\uFEFF${csv}\n`);
  const progress: number[] = [];
  const first = await importDossiers(file, { rollups: null, onProgress: (f) => progress.push(f) });
  expect(first).toMatchObject({ rows: 4, created: 2, updated: 0, surveys: 1, failed: 2 });
  expect(first.errors.map((e) => [e.row, e.code, e.issues.map((i) => i.path).sort()])).toEqual([
    [4, 'IMP-250314-0003', ['applicant.phone', 'channel']],
    [5, 'IMP-250314-0004', ['unitCode']],
  ]);
  expect(progress[progress.length - 1]).toBe(1);
  const token = (await Dossier.findOne({ code: 'IMP-250314-0001' }).lean())?.survey?.token;
  expect(token).toBeTruthy();
  expect((await Dossier.findOne({ code: 'IMP-250314-0002' }).lean())?.procedureName).toBe(
    'Đăng ký kết hôn, lần đầu',
  );

  const again = await importDossiers(file, { rollups: null });
  expect(again).toMatchObject({ rows: 4, created: 0, updated: 2, surveys: 1, failed: 2 });
  expect(await Dossier.countDocuments({})).toBe(2);
  expect((await Dossier.findOne({ code: 'IMP-250314-0001' }).lean())?.survey?.token).toBe(token);
});

test('imports an XLSX in the national portal columns', async () => {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('HoSo');
  ws.addRow([
    'MaHoSo',
    'MaTTHC',
    'TenTTHC',
    'KenhThucHien',
    'MucDo',
    'NgayTiepNhan',
    'NgayHenTra',
    'NgayKetThucXuLy',
    'NgayTra',
    'TrangThaiHoSo',
    'DonViXuLy',
    'SoDienThoai',
    'NguoiXuLy',
  ]);
  ws.addRow([
    'DVC-250314-0001',
    '1.001234',
    'Đăng ký khai sinh',
    2,
    4,
    '20250314093000',
    '20250317170000',
    '20250316100000',
    '20250316150000',
    10,
    '19867',
    '0912345678',
    'cb-9',
  ]);
  ws.addRow([
    'DVC-250314-0002',
    '1.001234',
    'Đăng ký khai sinh',
    1,
    '',
    '20250314093000',
    '',
    '',
    '',
    4,
    '19867',
    '',
    '',
  ]);
  ws.addRow(['DVC-250314-0003', '', '', 5, '', '', '', '', '', 10, '19867', '', '']);
  const file = join(dir, 'dossiers.xlsx');
  await wb.xlsx.writeFile(file);
  const report = await importDossiers(file, { rollups: null });
  expect(report).toMatchObject({ rows: 3, created: 2, surveys: 1, failed: 1 });
  expect(report.errors[0]?.issues.map((i) => i.path).sort()).toEqual(['KenhThucHien', 'MaTTHC']);
  expect(await Dossier.findOne({ code: 'DVC-250314-0001' }).lean()).toMatchObject({
    status: 'returned',
    channel: 'online',
    onlineLevel: 4,
    officerId: 'cb-9',
  });
});

/** Vietnamese as windows-1258 writes it: ă â ê ô ơ ư đ precomposed, the tone marks as combining characters. */
function cp1258(text: string): Buffer {
  const parts = text
    .normalize('NFD')
    .replace(
      /([aeouAEOU])(\u0323?)([\u0302\u0306\u031B])/g,
      (_m, base: string, dot: string, mark: string) => `${(base + mark).normalize('NFC')}${dot}`,
    );
  return iconv.encode(parts, 'windows-1258');
}

const row = (code: string, procedureName: string) =>
  `${code},1.001234,${procedureName},19867,in_person,,2025-03-14T09:30:00+07:00,,2025-03-16T10:00:00+07:00,,finished,cb-1,`;

/** Runs `hailong …` through the CLI's one entry; what it printed on stdout and stderr, and its exit code. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const spies = [
    jest.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (stdout += `${a.join(' ')}\n`)),
    jest.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += `${a.join(' ')}\n`)),
    jest
      .spyOn(process.stderr, 'write')
      .mockImplementation((c: string | Uint8Array) => ((stderr += Buffer.from(c).toString()), true)),
  ];
  try {
    return { code: await runCli(args, { from: 'user' }), stdout, stderr };
  } finally {
    for (const spy of spies) spy.mockRestore();
    process.exitCode = 0;
  }
}

test('a malformed line is reported with its line number; the rows before and after it are stored', async () => {
  const file = join(dir, 'malformed.csv');
  writeFileSync(
    file,
    [
      header,
      row('MAL-0001', 'Đăng ký khai sinh'),
      // Unescaped quotes inside a quoted field: the field is kept as written instead of ending the parse.
      row('MAL-0002', '"Trích lục "bản sao" khai sinh"'),
      // An unquoted comma: one column too many, the values would land in the wrong fields.
      row('MAL-0003', 'Đăng ký kết hôn, lần đầu'),
      // A quoted field over two lines: one row, lines 5-6.
      row('MAL-0004', '"Chứng thực\nbản sao"'),
      row('MAL-0005', 'Đăng ký khai tử'),
    ].join('\r\n'),
  );
  const report = await importDossiers(file, { rollups: null });
  expect(report).toMatchObject({ rows: 5, created: 4, failed: 1 });
  expect(report.errors).toEqual([
    {
      row: 4,
      code: null,
      issues: [
        {
          path: '(row)',
          message: expect.stringMatching(
            /Invalid Record Length: columns length is 13, got 14 on line 4/,
          ) as string,
        },
      ],
    },
  ]);
  const stored = await Dossier.find({ code: /^MAL-/ }, { _id: 0, code: 1, procedureName: 1 })
    .sort({ code: 1 })
    .lean();
  expect(stored).toEqual([
    { code: 'MAL-0001', procedureName: 'Đăng ký khai sinh' },
    { code: 'MAL-0002', procedureName: '"Trích lục "bản sao" khai sinh"' },
    { code: 'MAL-0004', procedureName: 'Chứng thực\nbản sao' },
    { code: 'MAL-0005', procedureName: 'Đăng ký khai tử' },
  ]);

  // The command says each bad row and exits 1, without a stack trace.
  const out = await cli('import', 'dossiers', file);
  expect(out.code).toBe(1);
  expect(out.stdout).toMatch(/^dòng 4 \/ row 4: \(row\): Invalid Record Length/m);
  expect(out.stdout).toMatch(/rows 5, created 0, updated 4, surveys \d+, failed 1$/m);
  expect(out.stderr).toBe('');
});

test('a UTF-16 file with its byte order mark is decoded (Excel "Unicode Text", tab-separated, LE and BE)', async () => {
  const text = [header, row('U16-0001', 'Đăng ký kết hôn'), row('U16-0002', 'Cấp bản sao trích lục')]
    .join('\r\n')
    .replace(/,/g, '\t');
  writeFileSync(join(dir, 'le.csv'), iconv.encode(text, 'utf-16le', { addBOM: true }));
  const be = Buffer.concat([
    Buffer.from([0xfe, 0xff]),
    iconv.encode(text.replace(/U16-/g, 'U16B-'), 'utf-16be'),
  ]);
  writeFileSync(join(dir, 'be.csv'), be);
  expect(await importDossiers(join(dir, 'le.csv'), { rollups: null })).toMatchObject({
    rows: 2,
    created: 2,
    failed: 0,
  });
  expect(await importDossiers(join(dir, 'be.csv'), { rollups: null })).toMatchObject({
    rows: 2,
    created: 2,
    failed: 0,
  });
  expect((await Dossier.findOne({ code: 'U16-0001' }).lean())?.procedureName).toBe('Đăng ký kết hôn');
  expect((await Dossier.findOne({ code: 'U16B-0002' }).lean())?.procedureName).toBe('Cấp bản sao trích lục');
});

test('a windows-1258 file is refused without --encoding (nothing stored) and read right with it', async () => {
  const file = join(dir, 'cp1258.csv');
  writeFileSync(
    file,
    cp1258(
      [
        header,
        row('W58-0001', 'Đăng ký kết hôn, lần đầu'.replace(',', '')),
        row('W58-0002', 'Chứng thực bản sao từ bản chính'),
      ].join('\r\n'),
    ),
  );
  await expect(importDossiers(file, { rollups: null })).rejects.toThrow(
    /not valid UTF-8 \(invalid bytes on line 2\).*--encoding windows-1258.*nothing was imported/,
  );
  expect(await Dossier.countDocuments({ code: /^W58-/ })).toBe(0);
  const refused = await cli('import', 'dossiers', file);
  expect(refused).toMatchObject({ code: 1, stdout: '' });
  expect(refused.stderr).toMatch(
    /^Lỗi: tệp không phải UTF-8 \(byte không hợp lệ ở dòng 2\); nếu tệp lưu bằng bảng mã Windows tiếng Việt, chạy lại với --encoding windows-1258; không có dòng nào được nhập \(Error: .*\)\n$/,
  );

  expect(await importDossiers(file, { rollups: null, encoding: 'windows-1258' })).toMatchObject({
    rows: 2,
    created: 2,
    failed: 0,
  });
  expect((await Dossier.findOne({ code: 'W58-0001' }).lean())?.procedureName).toBe('Đăng ký kết hôn lần đầu');
  expect((await Dossier.findOne({ code: 'W58-0002' }).lean())?.procedureName).toBe(
    'Chứng thực bản sao từ bản chính',
  );

  // A UTF-8 file read as windows-1258 would be garbled: refused.
  const utf8 = join(dir, 'utf8.csv');
  writeFileSync(utf8, [header, row('W58-0003', 'Đăng ký khai sinh')].join('\r\n'));
  await expect(importDossiers(utf8, { rollups: null, encoding: 'windows-1258' })).rejects.toThrow(
    /valid UTF-8, not windows-1258/,
  );
  // One bad line in a UTF-8 file is named.
  const mixed = join(dir, 'mixed.csv');
  writeFileSync(
    mixed,
    Buffer.concat([
      Buffer.from(`${header}\r\n${row('W58-0004', 'Đăng ký khai sinh')}\r\n`),
      cp1258(row('W58-0005', 'Đăng ký khai tử')),
    ]),
  );
  await expect(importDossiers(mixed, { rollups: null })).rejects.toThrow(/invalid bytes on line 3/);
  expect(await Dossier.countDocuments({ code: { $in: ['W58-0003', 'W58-0004', 'W58-0005'] } })).toBe(0);
});

test('XLSX date cells are read as dates, and Excel serials in unformatted date columns as Vietnam times', async () => {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('HoSo');
  ws.addRow(header.split(','));
  // A date-formatted cell: Excel keeps the wall-clock time 16/03/2025 10:00 (exceljs: its UTC fields).
  const formatted = ws.addRow([
    'XD-0001',
    '1.001234',
    'Đăng ký khai sinh',
    '19867',
    'in_person',
    null,
    new Date(Date.UTC(2025, 2, 14, 9, 30)),
    null,
    new Date(Date.UTC(2025, 2, 16, 10, 0)),
    null,
    'finished',
    'cb-1',
    null,
  ]);
  [7, 9].forEach((c) => (formatted.getCell(c).numFmt = 'dd/mm/yyyy hh:mm'));
  // The issue's cell: 46356.125, a serial number without a date format = 30/11/2026 03:00.
  ws.addRow([
    'XD-0002',
    '1.001234',
    'Đăng ký khai sinh',
    '19867',
    'in_person',
    null,
    null,
    null,
    46356.125,
    null,
    'finished',
    'cb-1',
    null,
  ]);
  const file = join(dir, 'dates.xlsx');
  await wb.xlsx.writeFile(file);
  expect(await importDossiers(file, { rollups: null })).toMatchObject({ rows: 2, created: 2, failed: 0 });
  const first = await Dossier.findOne({ code: 'XD-0001' }).lean();
  expect(first?.receivedAt?.toISOString()).toBe('2025-03-14T02:30:00.000Z');
  expect(first?.finishedAt?.toISOString()).toBe('2025-03-16T03:00:00.000Z');
  expect((await Dossier.findOne({ code: 'XD-0002' }).lean())?.finishedAt?.toISOString()).toBe(
    '2026-11-29T20:00:00.000Z',
  );
});
