import { phoneKeyId } from '../lib/phone';
import { Contact } from '../models/contact';
import { Dossier } from '../models/dossier';
import { UserError } from '../lib/user-error';

/**
 * Where the stored phone hashes stand during a change of PHONE_HASH_KEY. A hash cannot be made
 * again without the number, which is not stored: a record moves to the new key when the number
 * comes back (a dossier event of the same applicant, bot/survey/dossier-ingest.ts) and is found
 * under the old key until then (erasure, access, invitation cooldowns). This counts, per key,
 * the records whose hash it made, so the operator knows when the old key may go.
 */
export interface PhoneHashCounts {
  /** Under PHONE_HASH_KEY. */
  current: number;
  /** Under each key of PHONE_HASH_KEY_PREVIOUS, in its order. */
  previous: number[];
  /** Hashed before the key id was kept (see `markUnkeyedPhoneHashes`). */
  unmarked: number;
  /** Under a key that is in neither variable: a request by phone no longer finds them. */
  unknownKey: number;
}

export interface PhoneHashReport {
  contacts: PhoneHashCounts;
  dossiers: PhoneHashCounts;
}

/** `keys`: PHONE_HASH_KEY first, then the previous ones (lib/phone.ts phoneHashKeys). */
export async function phoneHashReport(keys: readonly string[]): Promise<PhoneHashReport> {
  const ids = keys.map(phoneKeyId);
  const count = (groups: Array<{ _id: string | null; n: number }>): PhoneHashCounts => {
    const c: PhoneHashCounts = {
      current: 0,
      previous: ids.slice(1).map(() => 0),
      unmarked: 0,
      unknownKey: 0,
    };
    for (const g of groups) {
      const at = g._id === null ? -2 : ids.indexOf(g._id);
      if (at === 0) c.current += g.n;
      else if (at > 0) c.previous[at - 1]! += g.n;
      else if (at === -2) c.unmarked += g.n;
      else c.unknownKey += g.n;
    }
    return c;
  };
  const contacts = await Contact.aggregate<{ _id: string | null; n: number }>([
    { $match: { phoneHash: { $type: 'string' } } },
    { $group: { _id: '$phoneHashKeyId', n: { $sum: 1 } } },
  ]);
  const dossiers = await Dossier.aggregate<{ _id: string | null; n: number }>([
    { $match: { applicantPhoneHash: { $type: 'string' } } },
    { $group: { _id: '$applicantPhoneKeyId', n: { $sum: 1 } } },
  ]);
  return { contacts: count(contacts), dossiers: count(dossiers) };
}

/**
 * Names the current key on the hashes stored before key ids were kept. Sound only while no
 * older key is in use (every hash was made by PHONE_HASH_KEY): refused when
 * PHONE_HASH_KEY_PREVIOUS is set. Run once before the first change of the key.
 */
export async function markUnkeyedPhoneHashes(
  keys: readonly string[],
): Promise<{ contacts: number; dossiers: number }> {
  if (keys.length !== 1)
    throw new UserError(
      'PHONE_HASH_KEY_PREVIOUS đang được đặt: không biết mã băm chưa ghi khoá là của khoá nào.',
      'PHONE_HASH_KEY_PREVIOUS is set: the key of an unmarked hash is unknown; mark before changing the key.',
      2,
    );
  const id = phoneKeyId(keys[0]!);
  const contacts = await Contact.updateMany(
    { phoneHash: { $type: 'string' }, phoneHashKeyId: null },
    { $set: { phoneHashKeyId: id } },
  );
  const dossiers = await Dossier.updateMany(
    { applicantPhoneHash: { $type: 'string' }, applicantPhoneKeyId: null },
    { $set: { applicantPhoneKeyId: id } },
  );
  return { contacts: contacts.modifiedCount, dossiers: dossiers.modifiedCount };
}
