export {
  FaultProxy,
  type FaultProxyOptions,
  type FaultProxyStats,
  type PartitionMode,
  type DropMatcher,
} from './fault-proxy.js';
export type { RespCommand } from './resp.js';
