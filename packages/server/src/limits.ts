/**
 * Hard limits of what a node accepts from clients and apps (CONTRACT.md §4, §7, §9, §10). They are defined
 * once, next to the job schemas in @io-session/worker, so that a queue job and an HTTP body share them.
 */
export {
  MAX_TOKEN_LENGTH,
  MAX_MESSAGE_ID_LENGTH,
  MAX_TTL_MS,
  MAX_PUSH_RECIPIENTS,
  GROUP_NAME_PATTERN,
} from '@io-session/worker';
