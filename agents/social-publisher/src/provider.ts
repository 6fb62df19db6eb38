/**
 * The provider interface: one implementation per platform, each a real HTTP client of that
 * platform's API. Errors say what the caller must do: RetryLaterError (rate limited: wait),
 * RejectedError (the platform refused the content: never retry), anything else (retry; the
 * attempt may or may not have reached the platform, so the next one looks before it posts).
 */
import type { Platform, PlatformRules } from './platform-rules.ts';

/** The account a call acts for, its token decrypted for the duration of the job. */
export interface AccountCredentials {
  baseUrl: string;
  /** The account's name there (X: part of a post's URL). */
  handle: string;
  accessToken: string;
  /** The platform's id of the account (X: needed to list its posts). */
  platformUserId: string | null;
}

export interface MediaFile {
  bytes: Uint8Array;
  mimeType: string;
  fileName: string;
  altText?: string;
}

export interface PublishedPost {
  postId: string;
  url: string | null;
}

export interface SocialProvider {
  platform: Platform;
  rules: PlatformRules;
  /** Uploads one image; returns the platform's media id, ready to attach. */
  uploadMedia(account: AccountCredentials, file: MediaFile, signal: AbortSignal): Promise<string>;
  /**
   * Creates the post. `idempotencyKey` is the same on every attempt of the same post; platforms
   * that honour one (Mastodon) return the first post again instead of a second one. `since` is
   * when a create of this post was first sent (where a platform refuses a duplicate, the
   * provider looks for its own post from then on).
   */
  createPost(
    account: AccountCredentials,
    post: { text: string; mediaIds: string[]; idempotencyKey: string; since: Date },
    signal: AbortSignal,
  ): Promise<PublishedPost>;
  /**
   * After an attempt whose outcome is unknown (a timeout once the request was sent), finds the
   * post that attempt may have created: one of the account's own posts since `since` with the
   * same text. Null when there is none.
   */
  findPublished(
    account: AccountCredentials,
    post: { text: string; idempotencyKey: string; since: Date },
    signal: AbortSignal,
  ): Promise<PublishedPost | null>;
}

/** The platform refused the post or a file for what it is (422, 400, 413): retrying cannot help. */
export class RejectedError extends Error {
  override name = 'RejectedError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
