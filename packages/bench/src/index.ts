export { runBench, writeResults } from './run.js';
export { parseBenchArgs, usage, type BenchOptions } from './options.js';
export { median, measured, percentile, ratio, perUnit, type Measured } from './report/stats.js';
export { computeFigures, computeTargets, formatCount } from './report/summary.js';
export { barChart, formatNumber, formatRatio, renderHtml, renderJson, renderTable } from './report/render.js';
export * from './report/results.js';
export { parseInfo, snapshotOf, deltaOf, type RedisSnapshot } from './harness/redis-info.js';
export { parseMonitorLine, parseClientList, clientGroup } from './harness/monitor.js';
export { keyPattern, growthPer } from './harness/memory-breakdown.js';
