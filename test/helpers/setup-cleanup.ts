import { afterAll } from 'vitest';
import { runCleanups } from './cleanup.js';

// Every test file: stop what its helpers started, even when a test failed or timed out.
afterAll(async () => {
  await runCleanups();
}, 60_000);
