import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import { parseEnv } from '../../config/env';
import { renderPoster, type PosterSize, type QrBox } from '../../bot/print/poster';
import { posterChannels } from '../../cli/commands/poster';
import { Unit } from '../../models/unit';
import { uriWithDb } from '../support/app';
import { runHailong } from '../support/cli';
import { connectTestDb, dropTestDb, redisUrl } from '../support/services';

/**
 * The printable poster and card: `hailong poster` writes a PDF that poppler turns into PNG pages
 * (pdftoppm, Debian's poppler-utils: .ci/run installs it), each QR code on them decodes (jsQR) to
 * the unit's own survey link, and the text keeps every Vietnamese diacritic (pdftotext).
 */
const DPI = 200;
const UNIT = { code: 'PTH', name: 'Phường Thuận Hoá' };
const COUNTER = 'Quầy số 2: Hộ tịch, chứng thực';
const ENV = {
  PUBLIC_URL: 'https://hailong.example.gov.vn',
  TELEGRAM_BOT_USERNAME: 'HaiLongHueBot',
  ZALO_OA_ID: '1234567890123456789',
};
const env = parseEnv({ NODE_ENV: 'test', ...ENV });
const ARTIFACTS = path.join(__dirname, '../../test-artifacts/poster');
let dbName = '';
let dir = '';

beforeAll(async () => {
  dbName = await connectTestDb('poster');
  await Unit.create({ ...UNIT, level: 'ward', parentCode: '46' });
  dir = mkdtempSync(path.join(tmpdir(), 'hl-poster-'));
  mkdirSync(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await dropTestDb();
});

/** The PDF's pages as PNG images, through poppler. */
function pages(pdf: string): PNG[] {
  const prefix = path.join(dir, path.basename(pdf, '.pdf'));
  execFileSync('pdftoppm', ['-png', '-r', String(DPI), pdf, prefix]);
  const files = readdirSync(dir)
    .filter((f) => f.startsWith(path.basename(prefix)) && f.endsWith('.png'))
    .sort();
  for (const f of files) writeFileSync(path.join(ARTIFACTS, f), readFileSync(path.join(dir, f)));
  return files.map((f) => PNG.sync.read(readFileSync(path.join(dir, f))));
}

/** Decodes the QR code inside one box of the page (its quiet zone included, plus a margin). */
function decodeAt(page: PNG, box: QrBox): string | null {
  const k = DPI / 72;
  const pad = 12;
  const x0 = Math.max(0, Math.floor(box.x * k) - pad);
  const y0 = Math.max(0, Math.floor(box.y * k) - pad);
  const w = Math.min(page.width - x0, Math.ceil(box.size * k) + 2 * pad);
  const h = Math.min(page.height - y0, Math.ceil(box.size * k) + 2 * pad);
  const crop = new Uint8ClampedArray(w * h * 4);
  for (let row = 0; row < h; row++) {
    const from = ((y0 + row) * page.width + x0) * 4;
    crop.set(page.data.subarray(from, from + w * 4), row * w * 4);
  }
  return jsQR(crop, w, h)?.data ?? null;
}

/** Checks one rendered PDF: one page of the size, every QR code decodes to its link, the text keeps its diacritics. */
async function checkPoster(out: string, size: PosterSize, latestText: string): Promise<void> {
  const [page, ...more] = pages(out);
  expect(more).toHaveLength(0);
  // A4 is 210 mm wide, A6 105 mm: at 200 dpi 1654 and 827 pixels.
  expect(page!.width).toBe(size === 'a4' ? 1654 : 827);
  // The same layout as the command's, for where its codes are.
  const { qr } = await renderPoster({
    unitName: UNIT.name,
    counter: COUNTER,
    channels: posterChannels(env, UNIT.code),
    resultsUrl: '',
    latest: null,
    minN: 30,
    size,
  });
  expect(qr.map((q) => [q.kind, q.link])).toEqual([
    ['telegram', 'https://t.me/HaiLongHueBot?start=u_PTH'],
    ['zalo', 'https://zalo.me/1234567890123456789'],
    ['web', 'https://hailong.example.gov.vn/s/u/PTH'],
  ]);
  for (const box of qr) expect(decodeAt(page!, box)).toBe(box.link);
  const text = execFileSync('pdftotext', ['-layout', out, '-'])
    .toString('utf8')
    .normalize('NFC')
    .replace(/\s+/g, ' ');
  for (const s of [
    UNIT.name,
    COUNTER,
    'Xin Quý ông/bà cho biết',
    'mức độ hài lòng',
    'Xin cảm ơn Quý ông/bà!',
    latestText,
  ])
    expect(text).toContain(s);
}

test('`hailong poster` writes an A4 PDF whose QR codes decode to the unit’s own survey links', async () => {
  const out = path.join(dir, 'poster-a4.pdf');
  const run = await runHailong(['poster', '--unit', UNIT.code, '--counter', COUNTER, '--out', out], {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    MONGODB_URI: uriWithDb(dbName),
    REDIS_URL: redisUrl(),
    ...ENV,
  });
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('3 mã QR');
  // No responses yet: the index is not published.
  await checkPoster(out, 'a4', 'chưa đủ số phiếu');
}, 300_000);

test('the A6 card with a published index renders and its QR codes decode', async () => {
  const out = path.join(dir, 'poster-a6.pdf');
  const latest = {
    kind: 'month',
    key: '2026-10',
    from: '2026-10-01',
    to: '2026-10-31',
    published: true,
    responses: 1234,
    overall: { n: 6000, index: 0.8451, ci95: { low: 0.83, high: 0.86 } },
    elements: [],
  } as const;
  const { pdf } = await renderPoster({
    unitName: UNIT.name,
    counter: COUNTER,
    channels: posterChannels(env, UNIT.code),
    resultsUrl: 'https://hailong.example.gov.vn/ket-qua/PTH',
    latest: { ...latest, elements: [] },
    minN: 30,
    size: 'a6',
  });
  writeFileSync(out, pdf);
  await checkPoster(out, 'a6', 'Chỉ số hài lòng tháng 10/2026: 84,5% (1.234 phiếu).');
}, 300_000);

test('an unknown unit is refused in one line, and no file is written', async () => {
  const out = path.join(dir, 'none.pdf');
  const base = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    MONGODB_URI: uriWithDb(dbName),
    REDIS_URL: redisUrl(),
  };
  const unknown = await runHailong(['poster', '--unit', 'KHONG-CO', '--out', out], base);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/không có đơn vị KHONG-CO/);
  expect(readdirSync(dir)).not.toContain('none.pdf');
}, 300_000);
