/**
 * The one way to make a custom BullMQ job id: `<kind>-<part>[-<part>…]`, for example
 * `inv-<dossier>`, `rem-<dossier>-<n>`, `bc-<broadcast>-<contact>`.
 *
 * A stable id is what makes a repeated add a no-op while BullMQ still holds the job (retries,
 * duplicate events, a re-run fan-out page), so an id must mean the same thing from release to
 * release. BullMQ refuses an id that is an integer, and one with a `:` unless it has exactly three
 * `:`-separated parts (the shape of its legacy repeat ids): an id that only works because of that
 * exception breaks on the first part that holds a `:`. So no id made here contains a `:`: in a
 * part, `%` and `:` are written `%25` and `%3A` (every id without them reads as before), and the
 * kind, a lowercase word, keeps an id from ever being an integer. A part that ends the id may be a
 * number (`rem-<dossier>-<n>`): the parts before it cannot be mistaken for it.
 */
export function jobId(kind: string, ...parts: Array<string | number>): string {
  if (!/^[a-z][a-z0-9-]*$/.test(kind)) throw new Error(`job id kind "${kind}" must be a lowercase word`);
  if (parts.length === 0) throw new Error(`job id "${kind}" has no parts`);
  let id = kind;
  for (const p of parts) {
    const s = String(p);
    if (s === '') throw new Error(`job id "${kind}" has an empty part`);
    id += '-' + (s.includes(':') || s.includes('%') ? s.replace(/%/g, '%25').replace(/:/g, '%3A') : s);
  }
  return id;
}

/** Refuses an id BullMQ would take only through its three-part exception, or refuse outright. */
export function checkJobId(id: string): void {
  if (id.includes(':'))
    throw new Error(`job id "${id}" contains ':' (make it with jobId(), workers/job-id.ts)`);
  if (/^\d+$/.test(id))
    throw new Error(`job id "${id}" is an integer (make it with jobId(), workers/job-id.ts)`);
}

/**
 * A Zalo event's job id is the event's own id (bot/channels/zalo/inbound.ts eventId), as before
 * job-id.ts: BullMQ drops a redelivered event by it while its first job is held, so a new form
 * would let one event be queued twice under two ids during a rolling deploy. An event id holds
 * only `A-Za-z0-9_.-` and starts with `m-` or the event's name: never a `:`, never an integer.
 */
export function zaloEventJobId(eventId: string): string {
  checkJobId(eventId);
  return eventId;
}
