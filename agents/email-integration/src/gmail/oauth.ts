/**
 * OAuth 2.0 refresh-token grant against Google's token endpoint (RFC 6749 section 6). Neither the
 * refresh token nor the access token ever appears in an error message or a log line.
 */
import { MailAuthError } from '../provider.ts';
import { GoogleApiError, googleErrorInfo, type RetryPolicy, requestWithRetry } from './http.ts';

export interface OAuthClient {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
}

export interface AccessToken {
  token: string;
  /** Epoch ms after which the token should not be used. */
  expiresAt: number;
}

/** Answers meaning the grant or the client is bad: only a person can fix them. */
const AUTH_FAILURES = new Set(['invalid_grant', 'invalid_client', 'unauthorized_client', 'invalid_scope']);
/** Refresh this long before the stated expiry, so a request never leaves with a dying token. */
const EXPIRY_MARGIN_MS = 60_000;

/** Exchanges a refresh token for an access token. */
export async function refreshAccessToken(
  client: OAuthClient,
  refreshToken: string,
  policy: RetryPolicy,
  signal?: AbortSignal,
): Promise<AccessToken> {
  const body = new URLSearchParams({
    grant_type: 'refresh_token',
    refresh_token: refreshToken,
    client_id: client.clientId,
    client_secret: client.clientSecret,
  });
  const result = await requestWithRetry(
    'Google token refresh',
    client.tokenUrl,
    {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body,
    },
    policy,
    signal,
  );
  if (result.status >= 400) {
    const { reason, message } = googleErrorInfo(result.text, [refreshToken, client.clientSecret]);
    const detail = `${result.status}${reason ? ` ${reason}` : ''}${message ? `: ${message}` : ''}`;
    if (result.status === 401 || (reason !== null && AUTH_FAILURES.has(reason))) {
      throw new MailAuthError(
        `Google refused the refresh token (${detail}); the account must be reconnected or GOOGLE_CLIENT_ID/GOOGLE_CLIENT_SECRET fixed`,
      );
    }
    throw new GoogleApiError(`Google token refresh failed (${detail})`, result.status, reason);
  }
  let parsed: { access_token?: unknown; expires_in?: unknown };
  try {
    parsed = JSON.parse(result.text);
  } catch {
    throw new Error('Google token refresh: the answer is not JSON');
  }
  if (typeof parsed.access_token !== 'string' || parsed.access_token === '') {
    throw new Error('Google token refresh: the answer has no access_token');
  }
  const expiresIn = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 3600;
  return { token: parsed.access_token, expiresAt: Date.now() + expiresIn * 1000 - EXPIRY_MARGIN_MS };
}
