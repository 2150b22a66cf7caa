export type { Context, LatencyPlan } from './context.js';
export { measureFloor } from './floor.js';
export { measureProject, type ProjectOutcome } from './project.js';
export { measureSessions } from './sessions.js';
