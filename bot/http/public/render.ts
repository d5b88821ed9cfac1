import { createHash } from 'node:crypto';
import { formatDateTime } from '../../../lib/time';
import { esc } from '../../channels/web/render';
import { trendSvg, type ChartNote } from './chart';
import { countVi, dayVi, NOT_ENOUGH_VI, percentVi, periodLabelVi } from './format';
import type { PublishedPeriod, PublishedShare, UnitListing, UnitResults } from './published';

/**
 * The public results pages as HTML: one inline style sheet (allowed by its hash in the CSP), no
 * script, no image or font from anywhere else; readable on a phone first. Everything from the
 * database (unit names, notes) is escaped.
 */
const CSS = `
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;color:#1f2328;background:#f6f8fa;line-height:1.5;font-size:16px}
header.top{background:#0a3069;color:#fff;padding:12px 16px}
header.top a{color:#fff;text-decoration:none;font-weight:600}
main{max-width:960px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:8px 0 4px}
h2{font-size:1.15rem;margin:28px 0 8px}
p.sub{color:#57606a;margin:0 0 16px;font-size:.9rem}
.cards{display:grid;grid-template-columns:1fr;gap:12px}
@media(min-width:640px){.cards{grid-template-columns:repeat(3,1fr)}}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:14px}
.card h3{margin:0;font-size:.95rem;color:#57606a;font-weight:600}
.card .big{font-size:2.2rem;font-weight:700;color:#0a3069;margin:4px 0}
.card .none{font-size:1.05rem;font-weight:600;color:#6e7781;margin:12px 0}
.card p{margin:0;font-size:.9rem;color:#424a53}
.table-wrap{overflow-x:auto;background:#fff;border:1px solid #d0d7de;border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{padding:8px 10px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}
th[scope=row]{min-width:7.5em}
td.num{text-align:right;white-space:nowrap}
tr.self td{background:#ddf4ff;font-weight:600}
small,.muted{color:#6e7781}
.chart{width:100%;height:auto;background:#fff;border:1px solid #d0d7de;border-radius:8px}
ol.notes{padding-left:0;list-style:none;margin:0}
ol.notes li{background:#fff;border:1px solid #d0d7de;border-left:4px solid #9a6700;border-radius:6px;padding:8px 12px;margin:0 0 8px}
ol.notes .n{display:inline-block;min-width:1.6em;height:1.6em;border-radius:50%;background:#9a6700;color:#fff;text-align:center;font-weight:700;margin-right:6px;font-size:.85rem;line-height:1.6em}
ul.units{padding-left:18px}
ul.units li{margin:4px 0}
a{color:#0550ae}
footer{max-width:960px;margin:24px auto;padding:0 16px 24px;font-size:.85rem;color:#57606a}
details summary{cursor:pointer;margin:8px 0}
.embed main{padding:8px}
.embed h1{font-size:1.15rem}
`;

export const STYLE_HASH = `'sha256-${createHash('sha256').update(CSS).digest('base64')}'`;

function page(o: { title: string; body: string; embed?: boolean; description?: string }): string {
  return `<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)}</title>
${o.description ? `<meta name="description" content="${esc(o.description)}">` : ''}
<style>${CSS}</style>
</head>
<body${o.embed ? ' class="embed"' : ''}>
${o.body}
</body>
</html>`;
}

const HEADER = `<header class="top"><a href="/ket-qua">Kết quả khảo sát mức độ hài lòng</a></header>`;

const NOT_ENOUGH_TEXT = (minN: number) =>
  `Chưa đủ số phiếu để công bố (cần tối thiểu ${countVi(minN)} phiếu).`;

function ciText(s: PublishedShare): string {
  return `khoảng tin cậy 95%: ${percentVi(s.ci95.low)} – ${percentVi(s.ci95.high)}`;
}

function card(p: PublishedPeriod, minN: number): string {
  const title = esc(periodLabelVi(p));
  if (!p.overall || p.responses === null)
    return `<div class="card"><h3>${title}</h3><p class="none">${esc(NOT_ENOUGH_VI[0]!.toUpperCase() + NOT_ENOUGH_VI.slice(1))}</p><p>${esc(NOT_ENOUGH_TEXT(minN))}</p></div>`;
  return `<div class="card"><h3>${title}</h3><p class="big">${percentVi(p.overall.index)}</p><p>${countVi(p.responses)} phiếu; ${esc(ciText(p.overall))}</p></div>`;
}

function cell(s: PublishedShare | null | undefined): string {
  return s
    ? `<td class="num">${percentVi(s.index)}<br><small>n = ${countVi(s.n)}; ${percentVi(s.ci95.low)}–${percentVi(s.ci95.high)}</small></td>`
    : `<td class="num muted">${NOT_ENOUGH_VI}</td>`;
}

function elementsTable(r: UnitResults): string {
  const codes = r.periods.find((p) => p.elements.length > 0)?.elements ?? [];
  if (codes.length === 0) return `<p>${esc(NOT_ENOUGH_TEXT(r.minN))}</p>`;
  const head = r.periods.map((p) => `<th class="num">${esc(periodLabelVi(p))}</th>`).join('');
  const rows = codes
    .map(
      (e) =>
        `<tr><th scope="row">${esc(e.name)}</th>${r.periods.map((p) => cell(p.elements.find((x) => x.code === e.code)?.share)).join('')}</tr>`,
    )
    .join('');
  return `<div class="table-wrap"><table><thead><tr><th>Yếu tố</th>${head}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** The notes within the chart's months, numbered oldest first as on the chart. */
function chartNotes(r: UnitResults): Array<ChartNote & UnitResults['notes'][number]> {
  const from = r.months[0]?.from ?? '';
  const to = r.months[r.months.length - 1]?.to ?? '';
  return [...r.notes]
    .filter((n) => n.date >= from && n.date <= to)
    .sort((a, b) => a.date.localeCompare(b.date))
    .map((n, i) => ({ ...n, label: i + 1 }));
}

function trendSection(r: UnitResults, embed: boolean): string {
  const notes = chartNotes(r);
  const svg = trendSvg(r.months, notes, `Chỉ số hài lòng theo tháng của ${r.unit.name}`);
  const rows = r.months
    .map(
      (m) =>
        `<tr><td>${esc(periodLabelVi(m))}</td>${m.overall && m.responses !== null ? `<td class="num">${percentVi(m.overall.index)}</td><td class="num">${countVi(m.responses)}</td>` : `<td class="num muted" colspan="2">${NOT_ENOUGH_VI}</td>`}</tr>`,
    )
    .join('');
  const table = `<details><summary>Bảng số liệu theo tháng</summary><div class="table-wrap"><table><thead><tr><th>Tháng</th><th class="num">Chỉ số</th><th class="num">Số phiếu</th></tr></thead><tbody>${rows}</tbody></table></div></details>`;
  const list =
    notes.length > 0
      ? `<h2>Bạn nói, chúng tôi làm</h2><p class="sub">Những thay đổi đơn vị đã thực hiện sau khi tiếp thu ý kiến của người dân, được đánh số trên biểu đồ.</p><ol class="notes">${notes
          .map(
            (n) =>
              `<li><span class="n">${n.label}</span><strong>${esc(dayVi(n.date))}</strong> · ${esc(n.elementName)}: ${esc(n.text)}</li>`,
          )
          .join('')}</ol>`
      : '';
  return `<h2>Diễn biến theo tháng</h2><p class="sub">Mỗi điểm là chỉ số của một tháng, vạch dọc là khoảng tin cậy 95%; tháng có vạch xám ở trục là tháng chưa đủ số phiếu.</p>${svg}${embed ? '' : table}${list}`;
}

function siblingsSection(r: UnitResults): string {
  const s = r.siblings;
  if (!s || s.rows.length < 2) return '';
  const self = s.rows.find((x) => x.self);
  const ranked = s.rows.filter((x) => x.rank !== null).length;
  const place =
    self?.rank != null
      ? `Đơn vị xếp thứ <strong>${self.rank}</strong> trong ${ranked} đơn vị đủ số phiếu.`
      : `Đơn vị ${NOT_ENOUGH_VI} để xếp hạng trong tháng này.`;
  const rows = s.rows
    .map(
      (x) =>
        `<tr${x.self ? ' class="self"' : ''}><td class="num">${x.rank ?? '–'}</td><td><a href="/ket-qua/${encodeURIComponent(x.code)}">${esc(x.name)}</a></td>${x.index !== null ? `<td class="num">${percentVi(x.index)}</td>` : `<td class="num muted">${NOT_ENOUGH_VI}</td>`}</tr>`,
    )
    .join('');
  return `<h2>So với các đơn vị cùng cấp</h2><p class="sub">${esc(s.parentName ?? s.parentCode)}, ${esc(periodLabelVi({ kind: 'month', key: s.period, to: '' }).toLowerCase())}. ${place}</p><div class="table-wrap"><table><thead><tr><th class="num">Hạng</th><th>Đơn vị</th><th class="num">Chỉ số</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function officersSection(r: UnitResults): string {
  if (!r.officers || r.officers.rows.length === 0) return '';
  const rows = r.officers.rows
    .map(
      (o) =>
        `<tr><td>${esc(o.officer)}</td><td class="num">${percentVi(o.overall.index)}</td><td class="num">${countVi(o.responses)}</td></tr>`,
    )
    .join('');
  return `<h2>Theo công chức tiếp nhận</h2><p class="sub">Đơn vị công bố chỉ số của công chức có từ ${countVi(r.minN)} phiếu trở lên, ${esc(periodLabelVi({ kind: 'month', key: r.officers.period, to: '' }).toLowerCase())}.</p><div class="table-wrap"><table><thead><tr><th>Mã công chức</th><th class="num">Chỉ số</th><th class="num">Số phiếu</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

const ABOUT = (r: UnitResults) =>
  `${esc(r.label)} (công thức phiên bản ${r.formulaVersion}): tỷ lệ câu trả lời «hài lòng» hoặc «rất hài lòng» trên số câu trả lời có đánh giá, trung bình của năm yếu tố theo Chỉ số SIPAS. Đây là kết quả người dân tự đánh giá qua khảo sát của đơn vị, không phải Chỉ số SIPAS chính thức do Bộ Nội vụ công bố. Chỉ công bố số liệu của tháng đã kết thúc và của kỳ có từ ${countVi(r.minN)} phiếu trở lên; không công bố ý kiến viết, họ tên hay số điện thoại của người trả lời.`;

export function unitPage(r: UnitResults, now: Date, base: string): string {
  const u = encodeURIComponent(r.unit.code);
  const body = `${HEADER}
<main>
<h1>${esc(r.unit.name)}</h1>
<p class="sub">${esc(r.label)}${r.unit.parentName ? ` · ${esc(r.unit.parentName)}` : ''}</p>
<div class="cards">${r.periods.map((p) => card(p, r.minN)).join('')}</div>
<h2>Theo từng yếu tố</h2>
${elementsTable(r)}
${trendSection(r, false)}
${siblingsSection(r)}
${officersSection(r)}
<h2>Về số liệu này</h2>
<p>${ABOUT(r)}</p>
<p>Dữ liệu mở: <a href="/ket-qua/${u}.json">JSON</a> · <a href="/ket-qua/${u}.csv">CSV</a> · Nhúng vào trang thông tin điện tử của đơn vị: <code>&lt;iframe src="${esc(base)}/ket-qua/${u}/embed" width="100%" height="640" title="Chỉ số hài lòng"&gt;&lt;/iframe&gt;</code></p>
</main>
<footer>Số liệu tổng hợp lúc ${esc(formatDateTime(now))} (giờ Việt Nam). Xin cảm ơn Quý ông/bà đã dành thời gian đánh giá.</footer>`;
  return page({
    title: `Kết quả khảo sát mức độ hài lòng: ${r.unit.name}`,
    description: `${r.label} của ${r.unit.name}`,
    body,
  });
}

export function embedPage(r: UnitResults, base: string): string {
  const body = `<main>
<h1>${esc(r.unit.name)}: ${esc(r.label.toLowerCase())}</h1>
<div class="cards">${r.periods.map((p) => card(p, r.minN)).join('')}</div>
${trendSection(r, true)}
<p><a href="${esc(base)}/ket-qua/${encodeURIComponent(r.unit.code)}" target="_blank" rel="noopener">Xem chi tiết và cách tính</a></p>
</main>`;
  return page({ title: `${r.label}: ${r.unit.name}`, body, embed: true });
}

export function listingPage(l: UnitListing): string {
  const groups = l.groups
    .map(
      (g) =>
        `<h2>${esc(g.parent ? g.parent.name : 'Đơn vị cấp tỉnh, thành phố')}</h2><ul class="units">${g.units.map((u) => `<li><a href="/ket-qua/${encodeURIComponent(u.code)}">${esc(u.name)}</a></li>`).join('')}</ul>`,
    )
    .join('');
  const body = `${HEADER}
<main>
<h1>Kết quả khảo sát mức độ hài lòng của người dân</h1>
<p class="sub">Kết quả người dân tự đánh giá về sự phục vụ của các cơ quan, đơn vị sau khi giải quyết thủ tục hành chính. Xin Quý ông/bà chọn đơn vị để xem chỉ số theo tháng, quý, năm và những thay đổi đơn vị đã thực hiện.</p>
${groups || '<p>Chưa có đơn vị nào.</p>'}
</main>`;
  return page({ title: 'Kết quả khảo sát mức độ hài lòng', body });
}

export function notFoundPage(): string {
  return page({
    title: 'Không tìm thấy đơn vị',
    body: `${HEADER}<main><h1>Không tìm thấy đơn vị</h1><p>Xin Quý ông/bà kiểm tra lại mã đơn vị, hoặc <a href="/ket-qua">xem danh sách đơn vị</a>.</p></main>`,
  });
}
