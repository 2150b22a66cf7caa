/** Why a group operation was refused though its input was well formed (CONTRACT.md §10). */
export type GroupRefusal = 'group_full' | 'too_many_groups' | 'group_too_large';

/**
 * A join or group push refused by a bound: the group has its most members (`maxGroupSize`), the session its most
 * groups (`maxGroupsPerSession`), or a group push would reach more than `maxGroupSize` sessions. Nothing changed.
 */
export class GroupRefusedError extends Error {
  constructor(
    readonly reason: GroupRefusal,
    message: string,
  ) {
    super(message);
    this.name = 'GroupRefusedError';
  }
}
