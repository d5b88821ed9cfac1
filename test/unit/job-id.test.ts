import { checkJobId, jobId } from '../../workers/job-id';
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
