export type { Context, LatencyPlan } from './context.js';
export { measureFloor } from './floor.js';
export { measureSessions } from './sessions.js';
