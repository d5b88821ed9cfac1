/**
 * The Quảng Điền units (docs/sipas-method.md, seed data).
 *
 * - Province 46 (Thừa Thiên Huế, Thành phố Huế since 1/1/2025, NQ 175/2024/QH15; GSO code kept).
 * - District 477 Huyện Quảng Điền and its 11 communes (GSO 2020 codes), valid until 30/6/2025:
 *   districts were abolished and communes merged from 1/7/2025 (NQ 1675/NQ-UBTVQH15).
 * - The 4 units that took them over from 1/7/2025. Their official codes are UNCONFIRMED
 *   (docs/sipas-method.md), so they get PROVISIONAL codes `QD-…` (not GSO codes). When the real codes are
 *   known, add them as new units and point these at them; never reuse a provisional code.
 */
export interface SeedUnit {
  code: string;
  name: string;
  level: 'province' | 'district' | 'commune' | 'ward' | 'town';
  parentCode: string | null;
  validFrom: Date | null;
  validTo: Date | null;
  successorCode: string | null;
}

/** 30/6/2025 23:59:59 and 1/7/2025 00:00 in Asia/Ho_Chi_Minh. */
const LAST_DAY_OLD = new Date('2025-06-30T16:59:59Z');
const FIRST_DAY_NEW = new Date('2025-06-30T17:00:00Z');

export const PROVINCE_CODE = '46';
export const DISTRICT_CODE = '477';

/** Provisional codes of the post-1/7/2025 units (UNCONFIRMED: see the note above). */
export const SUCCESSORS = {
  quangDien: 'QD-QUANG-DIEN',
  danDien: 'QD-DAN-DIEN',
  phongQuang: 'QD-PHONG-QUANG',
  hoaChau: 'QD-HOA-CHAU',
} as const;

const old = (
  code: string,
  name: string,
  successorCode: string,
  level: SeedUnit['level'] = 'commune',
): SeedUnit => ({
  code,
  name,
  level,
  parentCode: DISTRICT_CODE,
  validFrom: null,
  validTo: LAST_DAY_OLD,
  successorCode,
});

const merged = (code: string, name: string, level: SeedUnit['level']): SeedUnit => ({
  code,
  name,
  level,
  // No district level any more: the new communes and wards sit directly under the province.
  parentCode: PROVINCE_CODE,
  validFrom: FIRST_DAY_NEW,
  validTo: null,
  successorCode: null,
});

export const SEED_UNITS: readonly SeedUnit[] = Object.freeze([
  {
    code: PROVINCE_CODE,
    name: 'Thành phố Huế',
    level: 'province',
    parentCode: null,
    validFrom: null,
    validTo: null,
    successorCode: null,
  },
  // Split between several new units: no single successor.
  {
    code: DISTRICT_CODE,
    name: 'Huyện Quảng Điền',
    level: 'district',
    parentCode: PROVINCE_CODE,
    validFrom: null,
    validTo: LAST_DAY_OLD,
    successorCode: null,
  },
  old('19867', 'Thị trấn Sịa', SUCCESSORS.quangDien, 'town'),
  old('19870', 'Xã Quảng Thái', SUCCESSORS.danDien),
  old('19873', 'Xã Quảng Ngạn', SUCCESSORS.phongQuang),
  old('19876', 'Xã Quảng Lợi', SUCCESSORS.danDien),
  old('19879', 'Xã Quảng Công', SUCCESSORS.phongQuang),
  old('19882', 'Xã Quảng Phước', SUCCESSORS.quangDien),
  old('19885', 'Xã Quảng Vinh', SUCCESSORS.danDien),
  old('19888', 'Xã Quảng An', SUCCESSORS.quangDien),
  old('19891', 'Xã Quảng Thành', SUCCESSORS.hoaChau),
  old('19894', 'Xã Quảng Thọ', SUCCESSORS.quangDien),
  old('19897', 'Xã Quảng Phú', SUCCESSORS.danDien),
  merged(SUCCESSORS.quangDien, 'Xã Quảng Điền', 'commune'),
  merged(SUCCESSORS.danDien, 'Xã Đan Điền', 'commune'),
  // Phong Quảng also absorbed Phong Hải, Hóa Châu also Hương Phong and Hương Vinh (outside
  // Quảng Điền, not seeded).
  merged(SUCCESSORS.phongQuang, 'Phường Phong Quảng', 'ward'),
  merged(SUCCESSORS.hoaChau, 'Phường Hóa Châu', 'ward'),
]);
