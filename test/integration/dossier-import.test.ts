import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ExcelJS from 'exceljs';
import { importDossiers } from '../../cli/commands/import-dossiers';
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
  const first = await importDossiers(file, { onProgress: (f) => progress.push(f) });
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

  const again = await importDossiers(file);
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
  const report = await importDossiers(file);
  expect(report).toMatchObject({ rows: 3, created: 2, surveys: 1, failed: 1 });
  expect(report.errors[0]?.issues.map((i) => i.path).sort()).toEqual(['KenhThucHien', 'MaTTHC']);
  expect(await Dossier.findOne({ code: 'DVC-250314-0001' }).lean()).toMatchObject({
    status: 'returned',
    channel: 'online',
    onlineLevel: 4,
    officerId: 'cb-9',
  });
});
