/** What `until` hands back: its condition's value, once that is neither false nor empty. */
type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/**
 * Polls `cond` every 20 ms until it returns something truthy (true, a found document) and
 * returns that; fails naming `what` after `timeoutMs`.
 */
export async function until<T>(
  cond: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
