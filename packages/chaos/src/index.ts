/**
 * @io-session/chaos: the seeded, replayable chaos run and its history checker (development only).
 */
export { chaosDefaults } from './defaults.js';
export { parseChaosArgs, replayCommand, type ChaosOptions } from './options.js';
export { runChaos, type ChaosResult } from './run.js';
export { renderReport } from './report.js';
export { check, type CheckInput, type CheckResult, type Violation } from './check/checker.js';
export { History, type HistoryEvent } from './history.js';
