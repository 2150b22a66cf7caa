/**
 * For the scripts a `ProcessGroup` forks (`@io-session/devtools/child`): this entry loads nothing else, so a
 * measured child (the bench's nodes) carries no Redis client or log formatter it does not use.
 */

/** In a forked child: exit when the parent goes away (its IPC channel closes), however the parent ended. */
export function exitWithParent(): void {
  process.on('disconnect', () => process.exit(0));
}
