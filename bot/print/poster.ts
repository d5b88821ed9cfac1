import PDFDocument from 'pdfkit';
import { qrPng } from '../survey/qr';
import { countVi, NOT_ENOUGH_VI, percentVi, periodLabelVi } from '../http/public/format';
import type { PublishedPeriod } from '../http/public/published';

/**
 * The printable invitation of a unit: an A4 poster for a one-stop shop's counter and an A6 card,
 * in Vietnamese, with a QR code per channel, why to answer, what happens to the answers and the
 * unit's latest published index. Be Vietnam Pro (every Vietnamese diacritic) comes from npm
 * (@expo-google-fonts/be-vietnam-pro), never downloaded at run time.
 */
const FONT_DIR = '@expo-google-fonts/be-vietnam-pro';
const FONTS = {
  regular: require.resolve(`${FONT_DIR}/400Regular/BeVietnamPro_400Regular.ttf`),
  bold: require.resolve(`${FONT_DIR}/700Bold/BeVietnamPro_700Bold.ttf`),
};

export type PosterSize = 'a4' | 'a6';

export interface PosterChannel {
  kind: 'telegram' | 'zalo' | 'web';
  label: string;
  link: string;
  /** What to do after scanning, when the link alone does not start the survey (Zalo). */
  hint?: string;
}

export interface PosterInput {
  unitName: string;
  counter?: string | null;
  channels: PosterChannel[];
  resultsUrl: string;
  /** The unit's last complete month as published (null figures below the minimum). */
  latest: PublishedPeriod | null;
  minN: number;
  size: PosterSize;
}

/** Where each QR code was drawn, in PDF points from the top left (tests decode them there). */
export interface QrBox {
  kind: PosterChannel['kind'];
  link: string;
  x: number;
  y: number;
  size: number;
}

const NAVY = '#0a3069';
const INK = '#1f2328';
const GREY = '#57606a';

const WHY = [
  'Ý kiến của Quý ông/bà giúp đơn vị biết mình phục vụ tốt ở đâu và cần sửa đổi ở đâu.',
  'Kết quả được tổng hợp và công bố công khai hằng tháng; những thay đổi đơn vị đã thực hiện cũng được công bố kèm theo.',
];
const WHAT_HAPPENS = [
  'Câu trả lời được tổng hợp thành chỉ số theo từng tháng; không công bố họ tên, số điện thoại hay ý kiến viết của từng người.',
  'Ý kiến chưa hài lòng được chuyển tới lãnh đạo đơn vị để xem xét, xử lý và phản hồi.',
  'Dữ liệu cá nhân được bảo vệ theo Luật Bảo vệ dữ liệu cá nhân số 91/2025/QH15.',
];

function latestText(p: PublishedPeriod | null, minN: number): string {
  if (!p) return '';
  const label = periodLabelVi(p);
  if (!p.overall || p.responses === null)
    return `${label}: ${NOT_ENOUGH_VI} để công bố chỉ số (cần tối thiểu ${countVi(minN)} phiếu).`;
  return `Chỉ số hài lòng ${label.toLowerCase()}: ${percentVi(p.overall.index)} (${countVi(p.responses)} phiếu).`;
}

function collect(doc: PDFKit.PDFDocument): Promise<Buffer> {
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}

function bullets(
  doc: PDFKit.PDFDocument,
  items: readonly string[],
  x: number,
  width: number,
  size: number,
): void {
  for (const item of items) {
    const y = doc.y;
    doc.font('regular').fontSize(size).fillColor(NAVY).text('•', x, y, { lineBreak: false });
    doc.fillColor(INK).text(item, x + size, y, { width: width - size });
    doc.moveDown(0.25);
  }
}

/** Draws the QR codes side by side, centred in [x, x + width]; returns their boxes. */
async function qrRow(
  doc: PDFKit.PDFDocument,
  channels: readonly PosterChannel[],
  x: number,
  y: number,
  width: number,
  qrSize: number,
  labelSize: number,
): Promise<QrBox[]> {
  const gap = (width - channels.length * qrSize) / (channels.length + 1);
  const boxes: QrBox[] = [];
  for (const [i, c] of channels.entries()) {
    const qx = x + gap + i * (qrSize + gap);
    doc.image(await qrPng(c.link, 600), qx, y, { width: qrSize, height: qrSize });
    boxes.push({ kind: c.kind, link: c.link, x: qx, y, size: qrSize });
    const tw = qrSize + gap * 0.9;
    doc
      .font('bold')
      .fontSize(labelSize)
      .fillColor(NAVY)
      .text(c.label, qx - gap * 0.45, y + qrSize + 4, { width: tw, align: 'center' });
    if (c.hint)
      doc
        .font('regular')
        .fontSize(labelSize * 0.72)
        .fillColor(GREY)
        .text(c.hint, qx - gap * 0.45, doc.y, { width: tw, align: 'center' });
  }
  return boxes;
}

export async function renderPoster(input: PosterInput): Promise<{ pdf: Buffer; qr: QrBox[] }> {
  const a4 = input.size === 'a4';
  const doc = new PDFDocument({
    size: a4 ? 'A4' : 'A6',
    margin: 0,
    info: {
      Title: `Khảo sát mức độ hài lòng: ${input.unitName}`,
      Author: 'Hài Lòng',
      Subject: 'Tờ mời đánh giá mức độ hài lòng',
    },
  });
  const done = collect(doc);
  doc.registerFont('regular', FONTS.regular);
  doc.registerFont('bold', FONTS.bold);
  const W = doc.page.width;
  const H = doc.page.height;
  const m = a4 ? 42 : 18;
  const inner = W - 2 * m;
  const s = a4 ? 1 : 0.5;

  // Header band: the unit (and the counter) this invitation belongs to.
  const bandH = (input.counter ? 104 : 84) * s;
  doc.rect(0, 0, W, bandH).fill(NAVY);
  doc
    .font('bold')
    .fontSize(26 * s + (a4 ? 0 : 2))
    .fillColor('#ffffff')
    .text(input.unitName, m, 24 * s, { width: inner, align: 'center' });
  if (input.counter)
    doc
      .font('regular')
      .fontSize(16 * s + (a4 ? 0 : 2))
      .text(input.counter, m, doc.y + 4 * s, { width: inner, align: 'center' });

  doc
    .font('bold')
    .fontSize(a4 ? 28 : 15)
    .fillColor(NAVY)
    .text('Xin Quý ông/bà cho biết\nmức độ hài lòng', m, bandH + 20 * s, { width: inner, align: 'center' });
  doc
    .font('regular')
    .fontSize(a4 ? 14 : 8.5)
    .fillColor(INK)
    .text(
      'về việc giải quyết thủ tục hành chính hôm nay. Chỉ mất khoảng một phút, không cần đăng nhập.',
      m,
      doc.y + 6 * s,
      { width: inner, align: 'center' },
    );
  doc
    .font('regular')
    .fontSize(a4 ? 13 : 7.5)
    .fillColor(GREY)
    .text('Quét một trong các mã dưới đây bằng camera điện thoại:', m, doc.y + 14 * s, {
      width: inner,
      align: 'center',
    });

  const qrSize = a4 ? 150 : 72;
  const qr = await qrRow(doc, input.channels, m, doc.y + 12 * s, inner, qrSize, a4 ? 14 : 8);
  doc.y = Math.max(doc.y, qr[0] ? qr[0].y + qrSize + (a4 ? 40 : 24) : doc.y) + 8 * s;

  if (a4) {
    doc
      .font('bold')
      .fontSize(15)
      .fillColor(NAVY)
      .text('Vì sao nên trả lời?', m, doc.y + 4);
    doc.moveDown(0.2);
    bullets(doc, WHY, m, inner, 12);
    doc
      .font('bold')
      .fontSize(15)
      .fillColor(NAVY)
      .text('Câu trả lời được sử dụng như thế nào?', m, doc.y + 6);
    doc.moveDown(0.2);
    bullets(doc, WHAT_HAPPENS, m, inner, 12);
  } else {
    doc
      .font('regular')
      .fontSize(7.5)
      .fillColor(INK)
      .text(
        'Không công bố họ tên, số điện thoại hay ý kiến viết của từng người. Ý kiến chưa hài lòng được chuyển tới lãnh đạo đơn vị để xử lý.',
        m,
        doc.y + 4,
        { width: inner, align: 'center' },
      );
  }

  // The latest published index, and where to read every month's.
  // Below the text, or low on the page when there is room.
  const boxH = a4 ? 76 : 44;
  const boxY = Math.max(doc.y + 12 * s, H - m - boxH - (a4 ? 40 : 20));
  doc
    .roundedRect(m, boxY, inner, boxH, 8 * s)
    .lineWidth(1.5)
    .strokeColor(NAVY)
    .stroke();
  doc
    .font('bold')
    .fontSize(a4 ? 15 : 8)
    .fillColor(NAVY)
    .text(latestText(input.latest, input.minN), m + 12 * s, boxY + 14 * s, {
      width: inner - 24 * s,
      align: 'center',
    });
  doc
    .font('regular')
    .fontSize(a4 ? 12 : 6.5)
    .fillColor(INK)
    .text(`Kết quả hằng tháng: ${input.resultsUrl}`, m + 12 * s, doc.y + 6 * s, {
      width: inner - 24 * s,
      align: 'center',
    });
  doc
    .font('bold')
    .fontSize(a4 ? 18 : 9.5)
    .fillColor(NAVY)
    .text('Xin cảm ơn Quý ông/bà!', m, H - m - (a4 ? 26 : 13), {
      width: inner,
      align: 'center',
      lineBreak: false,
    });
  doc.end();
  return { pdf: await done, qr };
}
