import { checkJobId, jobId, zaloEventJobId } from '../../workers/job-id';
import { sessionSyncJobId } from '../../workers/conversation-background';
import { notifyJobId } from '../../workers/aggregation/cases/case-jobs';
import { followUpJobId, followUpMessageJobId } from '../../workers/aggregation/cases/group-actions';
import { digestJobId } from '../../workers/aggregation/digest/jobs';
import { monthJobId } from '../../workers/aggregation/rollups/month';
import { recomputeJobId } from '../../workers/aggregation/rollups/schedule';
import { invitationJobId, reminderJobId, reminderJobIds } from '../../workers/jobs/outreach-ids';
import { deliveryJobId } from '../../workers/broadcast/names';

test('an id reads <kind>-<part>-…, as the ids made before the helper did', () => {
  expect(invitationJobId('H01-2025-0001')).toBe('inv-H01-2025-0001');
  expect(deliveryJobId('665f1c2e9b1e8a3d4c5b6a70', '665f1c2e9b1e8a3d4c5b6a71')).toBe(
    'bc-665f1c2e9b1e8a3d4c5b6a70-665f1c2e9b1e8a3d4c5b6a71',
  );
  expect(jobId('bc-fanout', 'b1', 'r123')).toBe('bc-fanout-b1-r123');
});

test('a reminder id has no ":" any more; its old id is still removed', () => {
  expect(reminderJobId('D-1', 2)).toBe('rem-D-1-2');
  expect(reminderJobIds('D-1', 2)).toEqual(['rem-D-1-2', 'rem:D-1:2']);
});

test('a ":" in a part never reaches the id, and distinct parts give distinct ids', () => {
  const a = jobId('inv', 'A:B');
  expect(a).toBe('inv-A%3AB');
  expect(() => checkJobId(a)).not.toThrow();
  // '%' is escaped too, so a part that already reads "%3A" cannot collide with one holding ':'.
  expect(jobId('inv', 'A%3AB')).not.toBe(a);
  // A dossier code with ':' (which BullMQ would refuse) keeps no legacy reminder id.
  expect(reminderJobIds('A:B', 1)).toEqual(['rem-A%3AB-1']);
});

test('bad kinds, empty parts and ids BullMQ would take only by exception are refused', () => {
  expect(() => jobId('Inv', 'x')).toThrow(/lowercase/);
  expect(() => jobId('inv')).toThrow(/no parts/);
  expect(() => jobId('inv', '')).toThrow(/empty part/);
  expect(() => checkJobId('rem:D-1:2')).toThrow(/':'/);
  expect(() => checkJobId('42')).toThrow(/integer/);
});

test('the ids of sessions, cases, digests, rollups and Zalo events read as before the helper', () => {
  const s = '665f1c2e9b1e8a3d4c5b6a70';
  expect(sessionSyncJobId(s, 'soon')).toBe(`sess-${s}`);
  expect(sessionSyncJobId(s, 'later')).toBe(`sess-${s}-later`);
  expect(sessionSyncJobId(s, { rev: 7 })).toBe(`sess-${s}-r7`);
  expect(followUpJobId('PA-2026-000123')).toBe('fu-close-PA-2026-000123');
  expect(followUpMessageJobId('PA-2026-000123', new Date(1_700_000_000_000))).toBe(
    `fu-msg-PA-2026-000123-${(1_700_000_000_000).toString(36)}`,
  );
  expect(notifyJobId('PA-2026-000123')).toBe('notify-PA-2026-000123');
  expect(recomputeJobId('19867', '2026-12-02', '3')).toBe('rollup-19867-2026-12-02-e3');
  expect(monthJobId('19867', '2026-12', '0')).toBe('rollup-month-19867-2026-12-e0');
  expect(digestJobId('19867', '2026-12-01')).toBe('digest-19867-2026-12-01');
  // Unit codes the old id folded into one ('_' for every other character) now stay apart.
  expect(digestJobId('A B', '2026-12-01')).not.toBe(digestJobId('A/B', '2026-12-01'));
  expect(() => checkJobId(digestJobId('A:B', '2026-12-01'))).not.toThrow();
  expect(zaloEventJobId('m-8f3a2b')).toBe('m-8f3a2b');
  expect(() => zaloEventJobId('m:1:2')).toThrow(/':'/);
});
