/**
 * Micro-benchmark (not a test) behind the next step of docs/indices.md: on FerretDB 1.24 the cost
 * of reading a unit-year is per document and per field, so it compares, in one run, reading one
 * unit's 366 day documents shaped like today's rollups (total + procedure/officer/channel
 * breakdowns), the same 366 documents with the totals only, and 12 month totals.
 *
 *   bash scripts/with-services.sh npx tsx bench/aggregation-doc-size.ts
 */
import mongoose from 'mongoose';
async function main() {
  await mongoose.connect(process.env.MONGODB_URI!, { dbName: `bench_docsize_${Date.now()}`, maxPoolSize: 4 });
  const db = mongoose.connection.db!;
  const cell = (e: string, q: string) => ({
    element: e,
    questionId: q,
    n: 5,
    satisfied: 3,
    dissatisfied: 1,
    na: 0,
  });
  const cells = ['TIEP_CAN', 'TTHC', 'CONG_CHUC', 'KET_QUA', 'PAKN', 'TONG_THE'].map((e, i) =>
    cell(e, `q${i + 1}`),
  );
  const group = (k: string) => ({ key: k, responses: 3, dissatisfiedResponses: 1, cells });
  const full = [],
    small = [],
    month = [];
  for (let u = 0; u < 11; u++) {
    for (let d = 0; d < 366; d++) {
      const base = {
        unitCode: `U${u}`,
        day: `2024-${String(1 + Math.floor(d / 31)).padStart(2, '0')}-${String(1 + (d % 31)).padStart(2, '0')}`,
        responses: 50,
        dissatisfiedResponses: 5,
        excluded: 0,
        total: cells,
      };
      full.push({
        ...base,
        formulaVersion: 1,
        version: 1,
        computedAt: new Date(),
        byProcedure: Array.from({ length: 8 }, (_, i) => group(`P${i}`)),
        byOfficer: Array.from({ length: 6 }, (_, i) => group(`O${i}`)),
        byChannel: Array.from({ length: 4 }, (_, i) => group(`C${i}`)),
      });
      small.push(base);
    }
    for (let m = 1; m <= 12; m++)
      month.push({
        unitCode: `U${u}`,
        month: `2024-${String(m).padStart(2, '0')}`,
        responses: 1500,
        dissatisfiedResponses: 150,
        excluded: 0,
        total: cells,
      });
  }
  await db.collection('full').insertMany(full);
  await db.collection('small').insertMany(small);
  await db.collection('month').insertMany(month);
  for (const [name, filter] of [
    ['full', { unitCode: 'U0', day: { $gte: '2024-01-01', $lte: '2024-12-31' } }],
    ['small', { unitCode: 'U0', day: { $gte: '2024-01-01', $lte: '2024-12-31' } }],
    ['month', { unitCode: 'U0', month: { $gte: '2024-01', $lte: '2024-12' } }],
  ] as const) {
    const ts: number[] = [];
    let n = 0;
    for (let i = 0; i < 7; i++) {
      const t = performance.now();
      n = (
        await db
          .collection(name)
          .find(filter, {
            projection: {
              _id: 0,
              unitCode: 1,
              day: 1,
              responses: 1,
              dissatisfiedResponses: 1,
              excluded: 1,
              total: 1,
            },
          })
          .toArray()
      ).length;
      ts.push(performance.now() - t);
    }
    ts.sort((a, b) => a - b);
    console.log(
      `${name}: ${n} docs of ${name === 'month' ? month.length : full.length}, median ${ts[3].toFixed(0)} ms, min ${ts[0].toFixed(0)} ms`,
    );
  }
  await mongoose.connection.dropDatabase();
  await mongoose.disconnect();
}
main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
