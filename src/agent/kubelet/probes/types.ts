// One probe (or lifecycle handler) attempt's outcome, in prober terms:
// success, failure (the check ran and said no), or unknown (it could not run).
export type ProbeResult = 'success' | 'failure' | 'unknown';

export interface ProbeOutcome {
  result: ProbeResult;
  /** The output or error, as upstream words it (the Unhealthy event's text). */
  output: string;
}

/** The kubelet's prober User-Agent: kube-probe/<major>.<minor>. */
export const PROBE_USER_AGENT = 'kube-probe/1.36';
