import fs from 'node:fs';
import path from 'node:path';
import mongoose from 'mongoose';
import * as models from '../../models';

test('models/index.ts lists every model, so `hailong start` builds every index', async () => {
  const dir = path.join(__dirname, '../../models');
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.ts') && n !== 'index.ts'))
    await import(path.join(dir, f));
  const listed = Object.values(models)
    .map((m) => m.modelName)
    .sort();
  expect(mongoose.modelNames().sort()).toEqual(listed);
  expect(listed).toContain('RollupMonth');
});
