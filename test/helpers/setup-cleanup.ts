import { afterAll, afterEach, beforeEach } from 'vitest';
import { cleanupMark, runCleanups } from './cleanup.js';

// Every test file: what a test started is stopped after that test, what a beforeAll started after the file,
// even when a test failed or timed out.
let mark = 0;

beforeEach(() => {
  mark = cleanupMark();
});

afterEach(async () => {
  await runCleanups(mark);
}, 60_000);

afterAll(async () => {
  await runCleanups();
}, 60_000);
