import { z } from 'zod';
import { dossierEventSchema, issuesOf, type DossierStatus, type ParsedEvent } from './dossier-event';

/**
 * The national public-service portal's sync shape (HoSoDongBoDVC, docs/sipas-method.md) mapped to
 * our dossier event. Codes:
 *  - KenhThucHien: 1 in person, 2 online, 3 post;
 *  - MucDo: 2 information only, 3 partly online, 4 fully online;
 *  - TrangThaiHoSo (UNCONFIRMED against the portal's specification): 1 new, 2 received,
 *    3 not accepted, 4 processing, 5 supplement requested, 6 fees due, 7 withdrawn, 8 stopped,
 *    9 handled, 10 result returned. Our names (finished, returned, ...) are accepted as well.
 *  - The receiving officer is the first entry of the step log QuaTrinhXuLy (UNCONFIRMED).
 * Errors are reported under the portal's field names.
 */
const STATUS_BY_CODE: Record<string, DossierStatus> = {
  '1': 'received',
  '2': 'received',
  '3': 'cancelled',
  '4': 'processing',
  '5': 'processing',
  '6': 'processing',
  '7': 'cancelled',
  '8': 'cancelled',
  '9': 'finished',
  '10': 'returned',
};
const CHANNEL_BY_CODE: Record<string, string> = { '1': 'in_person', '2': 'online', '3': 'post' };

const OUR_TO_DVC: Record<string, string> = {
  code: 'MaHoSo',
  procedureCode: 'MaTTHC',
  procedureName: 'TenTTHC',
  unitCode: 'DonViXuLy',
  channel: 'KenhThucHien',
  onlineLevel: 'MucDo',
  receivedAt: 'NgayTiepNhan',
  dueAt: 'NgayHenTra',
  finishedAt: 'NgayKetThucXuLy',
  returnedAt: 'NgayTra',
  status: 'TrangThaiHoSo',
  officerId: 'QuaTrinhXuLy.0.NguoiXuLy',
  'applicant.phone': 'SoDienThoai',
  'applicant.telegramChatId': 'TelegramChatId',
  'applicant.zaloUserId': 'ZaloUserId',
};

const scalar = z.union([z.string(), z.number()]).nullable().optional();
const dvcSchema = z.looseObject({
  MaHoSo: scalar,
  MaTTHC: scalar,
  TenTTHC: scalar,
  DonViXuLy: scalar,
  KenhThucHien: scalar,
  MucDo: scalar,
  NgayTiepNhan: scalar,
  NgayHenTra: scalar,
  NgayKetThucXuLy: scalar,
  NgayTra: scalar,
  TrangThaiHoSo: scalar,
  SoDienThoai: scalar,
  TelegramChatId: scalar,
  ZaloUserId: scalar,
  QuaTrinhXuLy: z
    .array(z.looseObject({ NguoiXuLy: scalar, PhongBanXuLy: scalar, ThoiDiemXuLy: scalar }))
    .nullable()
    .optional(),
});

const str = (v: string | number | null | undefined): string | null | undefined =>
  v === null || v === undefined ? v : String(v).trim();
const orNull = (v: string | null | undefined): string | null =>
  v === undefined || v === null || v === '' ? null : v;

export function parseDvcEvent(body: unknown): ParsedEvent {
  const shape = dvcSchema.safeParse(body);
  if (!shape.success) return { ok: false, issues: issuesOf(shape.error) };
  const d = shape.data;
  const status = str(d.TrangThaiHoSo);
  const channel = str(d.KenhThucHien);
  const level = str(d.MucDo);
  const mapped = {
    code: str(d.MaHoSo),
    procedureCode: str(d.MaTTHC),
    procedureName: orNull(str(d.TenTTHC)),
    unitCode: str(d.DonViXuLy),
    channel: channel ? (CHANNEL_BY_CODE[channel] ?? channel) : channel,
    // Level 2 (information only) is not a way to submit: such a dossier was handled in person.
    onlineLevel: channel === '2' && (level === '3' || level === '4') ? Number(level) : null,
    receivedAt: orNull(str(d.NgayTiepNhan)),
    dueAt: orNull(str(d.NgayHenTra)),
    finishedAt: orNull(str(d.NgayKetThucXuLy)),
    returnedAt: orNull(str(d.NgayTra)),
    status: status ? (STATUS_BY_CODE[status] ?? status) : status,
    officerId: orNull(str(d.QuaTrinhXuLy?.[0]?.NguoiXuLy)),
    applicant: {
      phone: orNull(str(d.SoDienThoai)),
      telegramChatId: orNull(str(d.TelegramChatId)),
      zaloUserId: orNull(str(d.ZaloUserId)),
    },
  };
  const r = dossierEventSchema.safeParse(mapped);
  if (r.success) return { ok: true, event: r.data };
  return { ok: false, issues: issuesOf(r.error, (p) => OUR_TO_DVC[p] ?? p) };
}
