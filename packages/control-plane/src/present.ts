/** The API's JSON shapes live in @fleet/ops, shared with `fleet … --json`. */
export {
  presentCancel,
  presentDetail,
  presentJob,
  presentKey,
  presentQueue,
  presentRetry,
  presentSummary,
  presentTask,
  presentTaskPage,
  statusUrl,
} from '@fleet/ops';
