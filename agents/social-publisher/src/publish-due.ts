/**
 * social_media_posting for one workspace: one named post, or every post due. Posts go one at a
 * time (they mostly share an account, and so its rate limit). A rate limit stops the run and
 * defers the job (RetryLaterError); posts published before it stay published and are skipped by
 * the retry. A post the rules or the platform refuse is rejected for good and listed; any other
 * failure frees the post and fails the attempt, so it is retried.
 *
 * A run without post_id first brings the workspace's content calendar in: the unsent posts of
 * cancelled or deleted items are cancelled and each due calendar post gets its social posts
 * (calendar-posts.ts), so they are published in the same run. After publishing, calendar items
 * whose posts are all finished are marked published (or failed).
 */
import { PermanentError, RetryLaterError } from '@fleet/runtime';
import {
  cancelCalendarPosts,
  type FromCalendar,
  materialiseCalendarPosts,
  settleCalendarItems,
} from './calendar-posts.ts';
import { type PublishContext, type PublishDeps, type PublishOutcome, publishPost } from './publish-post.ts';
import { claimPost, duePostIds, releasePost } from './social-posts.ts';

export interface PublishDueResult {
  output: {
    workspace_id: string;
    due: number;
    published: number;
    found_existing: number;
    rejected: number;
    skipped: number;
    posts: PublishOutcome[];
    /** Posts claimed by another worker or no longer due when their turn came. */
    skipped_post_ids: string[];
    /** The content calendar steps (nothing is created or cancelled for a job with post_id). */
    from_calendar: FromCalendar;
  };
  status?: 'partial_failure' | 'failed';
  error?: string;
}

export async function publishDue(
  deps: PublishDeps & { leaseMs: number; batchSize: number },
  input: { workspaceId: string; postId?: string },
  ctx: PublishContext,
): Promise<PublishDueResult> {
  const fromCalendar: FromCalendar = { created: 0, cancelled: 0, items_published: 0, items_failed: 0 };
  if (!input.postId) {
    fromCalendar.cancelled = await cancelCalendarPosts(deps.db, input.workspaceId, deps.now());
    fromCalendar.created = await materialiseCalendarPosts(deps.db, input.workspaceId, deps.now());
    if (fromCalendar.created + fromCalendar.cancelled > 0) ctx.log.info({ ...fromCalendar }, 'content calendar posts');
  }
  const ids = input.postId ? [input.postId] : await duePostIds(deps.db, input.workspaceId, deps.now(), deps.batchSize);
  const posts: PublishOutcome[] = [];
  const skipped: string[] = [];
  const transient: string[] = [];
  for (const id of ids) {
    ctx.signal.throwIfAborted();
    const post = await claimPost(deps.db, input.workspaceId, id, deps.now(), deps.leaseMs);
    if (!post) {
      skipped.push(id);
      continue;
    }
    try {
      posts.push(await publishPost(deps, post, ctx));
    } catch (error) {
      const message = (error as Error).message;
      await releasePost(deps.db, post, message, deps.now());
      if (error instanceof RetryLaterError) {
        const done = posts.filter((p) => p.outcome !== 'rejected').length;
        throw new RetryLaterError(`post ${post.id}: ${message} (${done} published before it)`, error.delayMs);
      }
      if (error instanceof PermanentError && input.postId) throw error;
      ctx.log.warn({ postId: post.id, err: error }, 'social post attempt failed');
      transient.push(`post ${post.id}: ${message}`);
    }
  }
  const settled = await settleCalendarItems(deps.db, input.workspaceId);
  fromCalendar.items_published = settled.published;
  fromCalendar.items_failed = settled.failed;
  if (input.postId && skipped.length === 1) {
    throw new PermanentError(
      `post_id ${input.postId}: no post of this workspace that is due and not already published, rejected, cancelled (or of a cancelled calendar item) or being published`,
    );
  }
  if (transient.length > 0) {
    // Published posts are stored; the retry picks up the rest.
    throw new Error(`${transient.length} of ${ids.length} post(s) failed: ${transient.slice(0, 3).join('; ')}`);
  }
  const count = (o: PublishOutcome['outcome']) => posts.filter((p) => p.outcome === o).length;
  const output = {
    workspace_id: input.workspaceId,
    due: ids.length,
    published: count('published'),
    found_existing: count('found_existing'),
    rejected: count('rejected'),
    skipped: skipped.length,
    posts,
    skipped_post_ids: skipped,
    from_calendar: fromCalendar,
  };
  const rejected = posts.filter((p) => p.outcome === 'rejected');
  if (rejected.length === 0) return { output };
  const error = rejected.map((p) => `post ${p.post_id}: ${p.outcome === 'rejected' ? p.reason : ''}`).join('; ');
  return { output, status: input.postId || rejected.length === posts.length ? 'failed' : 'partial_failure', error };
}
