/**
 * The request bodies the fake Zalo platform accepts, as Zalo documents them
 * (docs/platform-limits.md). Each check returns the first invalid field (Zalo answers HTTP 200
 * `{"error":-201,"message":"<field> is invalid!"}`), or null when the request is valid. Stricter
 * than Zalo where Zalo is silent: a test passing against the fake proves our requests follow
 * the documentation, not merely that Zalo would have tolerated them.
 */
type Obj = Record<string, unknown>;

export const FAKE_ZALO_TEXT_MAX = 2000;
export const FAKE_ZALO_QUERY_PAYLOAD_MAX = 1000;
export const FAKE_ZALO_MAX_BUTTONS = 5;
export const FAKE_ZALO_TRACKING_ID_MAX = 48;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** POST /v3.0/oa/message/cs: text, buttons, media (image) or request-user-info messages. */
export function invalidCsField(body: Obj): string | null {
  if (!isObj(body.recipient) || !nonEmpty(body.recipient.user_id)) return 'recipient.user_id';
  const m = body.message;
  if (!isObj(m)) return 'message';
  const att = m.attachment;
  const media = isObj(att) && isObj(att.payload) && att.payload.template_type === 'media';
  // The text is required except beside an image, where it is an optional caption.
  if (m.text !== undefined || !media) {
    if (typeof m.text !== 'string' || m.text.length > FAKE_ZALO_TEXT_MAX) return 'message.text';
    if (!media && m.text.length === 0) return 'message.text';
  }
  if (att === undefined) return null;
  if (!isObj(att) || att.type !== 'template') return 'message.attachment.type';
  const p = att.payload;
  if (!isObj(p)) return 'message.attachment.payload';
  // Buttons go without template_type (a runbook got -201 with one).
  if (p.template_type === undefined) return invalidButtons(p.buttons, 'message.attachment.payload.buttons');
  if (p.template_type === 'media') return invalidMedia(p.elements, 'message.attachment.payload.elements');
  if (p.template_type === 'request_user_info') {
    return invalidRequestInfo(p.elements, 'message.attachment.payload.elements');
  }
  // "list" has no v3 page (UNCONFIRMED); nothing of ours may rely on it.
  return 'message.attachment.payload.template_type';
}

function invalidButtons(buttons: unknown, at: string): string | null {
  if (!Array.isArray(buttons) || buttons.length < 1 || buttons.length > FAKE_ZALO_MAX_BUTTONS) return at;
  for (const [i, b] of buttons.entries()) {
    const f = `${at}[${i}]`;
    if (!isObj(b)) return f;
    if (!nonEmpty(b.title)) return `${f}.title`;
    if (b.image_icon !== undefined && typeof b.image_icon !== 'string') return `${f}.image_icon`;
    const payload = b.payload;
    switch (b.type) {
      case 'oa.query.show':
      case 'oa.query.hide':
        if (typeof payload !== 'string' || payload.length > FAKE_ZALO_QUERY_PAYLOAD_MAX)
          return `${f}.payload`;
        break;
      case 'oa.open.url':
        if (!isObj(payload) || !nonEmpty(payload.url)) return `${f}.payload.url`;
        break;
      case 'oa.open.phone':
        if (!isObj(payload) || !nonEmpty(payload.phone_code)) return `${f}.payload.phone_code`;
        break;
      case 'oa.open.sms':
        if (!isObj(payload) || !nonEmpty(payload.content)) return `${f}.payload.content`;
        if (!nonEmpty(payload.phone_code)) return `${f}.payload.phone_code`;
        break;
      default:
        return `${f}.type`;
    }
  }
  return null;
}

function invalidMedia(elements: unknown, at: string): string | null {
  if (!Array.isArray(elements) || elements.length !== 1) return at;
  const e: unknown = elements[0];
  if (!isObj(e) || e.media_type !== 'image') return `${at}[0].media_type`;
  // Exactly one source: a public URL or an uploaded image's attachment_id.
  const hasUrl = e.url !== undefined;
  const hasId = e.attachment_id !== undefined;
  if (hasUrl === hasId) return `${at}[0].url`;
  if (hasUrl && !nonEmpty(e.url)) return `${at}[0].url`;
  if (hasId && !nonEmpty(e.attachment_id)) return `${at}[0].attachment_id`;
  return null;
}

function invalidRequestInfo(elements: unknown, at: string): string | null {
  if (!Array.isArray(elements) || elements.length !== 1) return at;
  const e: unknown = elements[0];
  if (!isObj(e) || !nonEmpty(e.title)) return `${at}[0].title`;
  if (!nonEmpty(e.subtitle)) return `${at}[0].subtitle`;
  if (!nonEmpty(e.image_url)) return `${at}[0].image_url`;
  return null;
}

/** POST /v3.0/oa/message/template (ZBS by UID). */
export function invalidTemplateField(body: Obj): string | null {
  if (!nonEmpty(body.user_id)) return 'user_id';
  if (!nonEmpty(body.template_id)) return 'template_id';
  if (!isObj(body.template_data)) return 'template_data';
  return null;
}

/** POST business.openapi.zalo.me/message/template (ZBS/ZNS by phone); the phone is checked apart (-108). */
export function invalidBusinessTemplateField(body: Obj): string | null {
  if (!nonEmpty(body.template_id)) return 'template_id';
  if (!isObj(body.template_data)) return 'template_data';
  if (body.tracking_id !== undefined) {
    if (!nonEmpty(body.tracking_id) || body.tracking_id.length > FAKE_ZALO_TRACKING_ID_MAX)
      return 'tracking_id';
  }
  // Production is the default and has no value of its own.
  if (body.mode !== undefined && body.mode !== 'development') return 'mode';
  return null;
}

/** POST /v3.0/oa/quota/message. */
export function invalidQuotaField(body: Obj): string | null {
  return nonEmpty(body.user_id) ? null : 'user_id';
}

/** GET /v3.0/oa/user/detail?data={"user_id":"…"}. */
export function invalidUserDetailField(query: Obj): string | null {
  return nonEmpty(query.user_id) ? null : 'user_id';
}

const PERIOD = /^(TODAY|YESTERDAY|L7D|L30D|\d{4}_\d{2}_\d{2}:\d{4}_\d{2}_\d{2})$/;

/** GET /v3.0/oa/user/getlist?data={"offset":0,"count":50,…}: count at most 50. */
export function invalidGetlistField(query: Obj): string | null {
  const { offset, count } = query;
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) return 'offset';
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 50) return 'count';
  if (query.is_follower !== undefined && typeof query.is_follower !== 'boolean') return 'is_follower';
  const period = query.last_interaction_period;
  if (period !== undefined && (typeof period !== 'string' || !PERIOD.test(period))) {
    return 'last_interaction_period';
  }
  return null;
}

/** A phone as Zalo gives it in `user_submit_info` and wants it for ZNS: "84…" (a leading 0 becomes 84). */
export function zaloPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  return digits.startsWith('0') ? `84${digits.slice(1)}` : digits;
}
