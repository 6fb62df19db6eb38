export { type Allowlist, judgeAddress, parseAllowlist, type Refusal } from './address-rules.ts';
export {
  createSafeFetch,
  describe as describeUrl,
  type LookupAll,
  RefusedUrlError,
  type SafeFetch,
  type SafeFetchInit,
  type SafeFetchOptions,
} from './safe-fetch.ts';
