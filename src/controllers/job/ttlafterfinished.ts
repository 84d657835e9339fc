// The TTL-after-finished controller (kube-controller-manager's
// "ttl-after-finished"): a finished Job with spec.ttlSecondsAfterFinished
// is deleted that many seconds after it finished (its Complete or Failed
// condition's transition time).
//
// sync(key): the Job from the cache; not finished or no TTL: nothing to
// do. Not expired yet: come back when it is. Expired: re-read it from the
// API (the TTL or the Job may have changed meanwhile; the cache may be
// stale), and if it is still expired delete it with propagationPolicy
// Background — and its pods too, since skiff has no garbage collector yet
// (see delete.ts).
import { splitKey } from '../../client/cache.ts';
import type { Informer } from '../../client/informer.ts';
import { isNotFound } from '../../client/interface.ts';
import { Controller, type ControllerOptions } from '../framework/controller.ts';
import { deleteJobWithPods } from './delete.ts';
import { finishedCondition, jobsResource, type Job } from './types.ts';

/** When the Job may be deleted (ms since epoch), or undefined when it is not up for deletion. */
export function expiresAt(job: Job): number | undefined {
  const ttl = job.spec.ttlSecondsAfterFinished;
  if (ttl === undefined || ttl === null || job.metadata.deletionTimestamp) return undefined;
  const finished = finishedCondition(job);
  if (!finished) return undefined;
  const at = Date.parse(finished.lastTransitionTime ?? '');
  // A finished Job without a time cannot expire (upstream reports an error and waits for a fix).
  return Number.isFinite(at) ? at + ttl * 1000 : undefined;
}

export class TtlAfterFinishedController extends Controller {
  readonly name = 'ttl-after-finished';
  protected readonly component = 'ttl-after-finished-controller';
  private readonly jobs: Informer<Job>;

  constructor(options: ControllerOptions) {
    super(options);
    this.jobs = this.watch<Job>(jobsResource, {
      onAdd: (job) => this.enqueueIfCandidate(job),
      onUpdate: (_old, job) => this.enqueueIfCandidate(job),
    });
  }

  private enqueueIfCandidate(job: Job): void {
    if (expiresAt(job) !== undefined) this.enqueue(job);
  }

  protected async sync(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const cached = this.jobs.lister.get(namespace, name);
    if (!cached || !this.waitOrExpired(key, cached)) return;
    let fresh: Job;
    try {
      fresh = await this.client.get<Job>({ ...jobsResource, namespace, name });
    } catch (error) {
      if (isNotFound(error)) return;
      throw error;
    }
    if (fresh.metadata.uid !== cached.metadata.uid || !this.waitOrExpired(key, fresh)) return;
    try {
      await deleteJobWithPods({ client: this.client, job: fresh });
    } catch (error) {
      // Gone already, or replaced by a newer Job of the same name (the uid precondition): nothing to do.
      if (isNotFound(error) || (error as { code?: number }).code === 409) return;
      throw error;
    }
    this.logger.info(`ttl-after-finished: deleted job ${key}`);
  }

  /** True when the Job has expired; when it will expire later, queue it for then. */
  private waitOrExpired(key: string, job: Job): boolean {
    const at = expiresAt(job);
    if (at === undefined) return false;
    const wait = at - this.now().getTime();
    if (wait > 0) {
      this.enqueueAfter(key, wait);
      return false;
    }
    return true;
  }
}
