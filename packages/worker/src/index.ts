export * from './queues.js';
export * from './worker-command.js';
