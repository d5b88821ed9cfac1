import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import iconv from 'iconv-lite';
import { UserError } from '../../lib/user-error';

/**
 * Which text encoding a CSV file is in, decided before a single row is imported, so a file is
 * either read right or refused: never stored garbled. A byte order mark decides (UTF-8, UTF-16
 * LE/BE: Excel's "CSV UTF-8" and "Unicode Text"). Without one the file must be valid UTF-8, or the
 * operator names its encoding with --encoding (windows-1258, the Vietnamese Windows code page of
 * older one-stop systems, or anything iconv-lite decodes). A file that is valid UTF-8 with
 * non-ASCII letters is refused under another encoding: decoding it so would garble every accent.
 */
export type Bom = 'utf-8' | 'utf-16le' | 'utf-16be';

export class EncodingError extends UserError {
  constructor(vi: string, en: string) {
    super(`${vi}; không có dòng nào được nhập`, `${en}; nothing was imported`, 1);
    this.name = 'EncodingError';
  }
}

/** iconv-lite's name of an encoding ("windows-1258", "cp1258", "UTF-16LE"…), or a usage error. */
export function parseEncoding(value: string): string {
  // encodingExists is typed as a guard on its own names; any string may be asked.
  const known: boolean = iconv.encodingExists(value);
  if (!known)
    throw new UserError(
      `bảng mã không được hỗ trợ "${value}" (ví dụ: utf-8, windows-1258, utf-16le)`,
      `unsupported --encoding "${value}" (e.g. utf-8, windows-1258, utf-16le)`,
      2,
    );
  return canonical(value);
}

const canonical = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');
const isUtf8 = (name: string) => canonical(name) === 'utf8';

async function readBom(file: string): Promise<Bom | null> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(3), 0, 3, 0);
    const b = buffer.subarray(0, bytesRead);
    if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return 'utf-8';
    if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return 'utf-16le';
    if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return 'utf-16be';
    return null;
  } finally {
    await fh.close();
  }
}

interface Utf8Scan {
  /** The first line holding bytes that are not UTF-8, or null when the whole file is UTF-8. */
  badLine: number | null;
  nonAscii: boolean;
  nul: boolean;
}

const NL = 0x0a;

/** The line (from `firstLine`) where `bytes`, which start at a line start, stop being UTF-8. */
function badLineIn(bytes: Buffer, firstLine: number): number {
  let start = 0;
  for (let line = firstLine; start <= bytes.length; line++) {
    const end = bytes.indexOf(NL, start);
    const last = end < 0;
    try {
      // A line never splits a character (0x0A is never part of one); the chunk's last piece may.
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(start, last ? bytes.length : end), {
        stream: last,
      });
    } catch {
      return line;
    }
    if (last) break;
    start = end + 1;
  }
  return firstLine;
}

/** One pass over the file with a strict UTF-8 decoder (the rows are read in a second pass). */
async function scanUtf8(file: string): Promise<Utf8Scan> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const scan: Utf8Scan = { badLine: null, nonAscii: false, nul: false };
  let line = 1;
  // The bytes since the last newline: where the decoder's state at a chunk's start comes from.
  let tail: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(file)) {
    const buf = chunk as Buffer;
    if (!scan.nonAscii && /[\x80-\xff]/.test(buf.toString('latin1'))) scan.nonAscii = true;
    if (!scan.nul && buf.includes(0)) scan.nul = true;
    try {
      decoder.decode(buf, { stream: true });
    } catch {
      scan.badLine = badLineIn(Buffer.concat([tail, buf]), line);
      return scan;
    }
    const lastNl = buf.lastIndexOf(NL);
    if (lastNl < 0) tail = Buffer.concat([tail, buf]);
    else {
      for (let i = buf.indexOf(NL); i >= 0; i = buf.indexOf(NL, i + 1)) line++;
      tail = buf.subarray(lastNl + 1);
    }
  }
  try {
    decoder.decode();
  } catch {
    scan.badLine = line; // the file ends inside a character
  }
  return scan;
}

/** The encoding to read `file` with (iconv-lite name), or an EncodingError saying what to do. */
export async function chooseEncoding(file: string, requested: string | null): Promise<string> {
  const bom = await readBom(file);
  if (bom === 'utf-16le' || bom === 'utf-16be') {
    if (requested && canonical(requested) !== canonical(bom))
      throw new EncodingError(
        `tệp bắt đầu bằng dấu BOM của ${bom}, khác --encoding ${requested}`,
        `the file starts with a ${bom} byte order mark, not ${requested}`,
      );
    return bom;
  }
  if (bom === 'utf-8' && requested && !isUtf8(requested))
    throw new EncodingError(
      `tệp bắt đầu bằng dấu BOM của UTF-8, khác --encoding ${requested}`,
      `the file starts with a UTF-8 byte order mark, not ${requested}`,
    );
  const scan = await scanUtf8(file);
  if (requested && !isUtf8(requested)) {
    if (scan.badLine === null && scan.nonAscii)
      throw new EncodingError(
        `tệp là UTF-8 hợp lệ, không phải ${requested}: bỏ --encoding (đọc theo ${requested} sẽ làm hỏng chữ có dấu)`,
        `the file is valid UTF-8, not ${requested}: leave out --encoding (reading it as ${requested} would garble every accented letter)`,
      );
    return canonical(requested);
  }
  if (!bom && !requested && scan.nul)
    throw new EncodingError(
      'tệp có vẻ là UTF-16 không có dấu BOM: chạy lại với --encoding utf-16le (hoặc utf-16be)',
      'the file looks like UTF-16 without a byte order mark: rerun with --encoding utf-16le (or utf-16be)',
    );
  if (scan.badLine !== null)
    throw new EncodingError(
      `tệp không phải UTF-8 (byte không hợp lệ ở dòng ${scan.badLine}); nếu tệp lưu bằng bảng mã Windows tiếng Việt, chạy lại với --encoding windows-1258`,
      `the file is not valid UTF-8 (invalid bytes on line ${scan.badLine}); if it was saved in the Vietnamese Windows code page, rerun with --encoding windows-1258`,
    );
  return 'utf8';
}
