export { type Allowlist, judgeAddress, parseAllowlist, type Refusal } from './address-rules.ts';
export { allowlistSetting } from './allowlist-setting.ts';
export { checkedAddress, explainRefusal, type LookupAll, RefusedAddressError } from './checked-host.ts';
export { isLoopbackHost, isPrivateNetworkHost } from './private-hosts.ts';
export {
  createSafeFetch,
  describe as describeUrl,
  RefusedUrlError,
  type SafeFetch,
  type SafeFetchInit,
  type SafeFetchOptions,
} from './safe-fetch.ts';
