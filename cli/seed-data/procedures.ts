/**
 * Common commune-level procedures, for demos and first trials. The codes are DEMO codes
 * (`DEMO-…`), not codes of the national procedure database: real dossiers carry real codes
 * from the one-stop system, and those procedures are created as dossiers arrive.
 */
export interface SeedProcedure {
  code: string;
  name: string;
  field: string;
}

export const SEED_PROCEDURES: readonly SeedProcedure[] = Object.freeze([
  { code: 'DEMO-HT-KHAISINH', name: 'Đăng ký khai sinh', field: 'Hộ tịch' },
  { code: 'DEMO-HT-KETHON', name: 'Đăng ký kết hôn', field: 'Hộ tịch' },
  { code: 'DEMO-HT-KHAITU', name: 'Đăng ký khai tử', field: 'Hộ tịch' },
  { code: 'DEMO-HT-TRICHLUC', name: 'Cấp bản sao trích lục hộ tịch', field: 'Hộ tịch' },
  { code: 'DEMO-HT-HONNHAN', name: 'Cấp Giấy xác nhận tình trạng hôn nhân', field: 'Hộ tịch' },
  { code: 'DEMO-CT-BANSAO', name: 'Chứng thực bản sao từ bản chính', field: 'Chứng thực' },
  { code: 'DEMO-CT-CHUKY', name: 'Chứng thực chữ ký trong giấy tờ, văn bản', field: 'Chứng thực' },
  {
    code: 'DEMO-CT-HOPDONG',
    name: 'Chứng thực hợp đồng, giao dịch liên quan đến nhà ở',
    field: 'Chứng thực',
  },
  { code: 'DEMO-BTXH-TROCAP', name: 'Thực hiện trợ cấp xã hội hằng tháng', field: 'Bảo trợ xã hội' },
  { code: 'DEMO-BTXH-MAITANG', name: 'Hỗ trợ chi phí mai táng', field: 'Bảo trợ xã hội' },
  { code: 'DEMO-DD-TRANHCHAP', name: 'Hòa giải tranh chấp đất đai', field: 'Đất đai' },
  { code: 'DEMO-NCC-TROCAP', name: 'Giải quyết chế độ trợ cấp người có công', field: 'Người có công' },
]);
