import QRCode from 'qrcode';

/**
 * QR codes for receipts. Error correction M survives a crumpled thermal print; the margin is the
 * 4-module quiet zone scanners expect.
 */
const OPTS = { errorCorrectionLevel: 'M' as const, margin: 4 };

export async function qrPng(text: string, width = 360): Promise<Buffer> {
  return QRCode.toBuffer(text, { ...OPTS, type: 'png', width });
}

export async function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { ...OPTS, type: 'svg' });
}
