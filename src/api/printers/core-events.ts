// Events (core/v1 and events.k8s.io/v1): LAST SEEN TYPE REASON OBJECT MESSAGE,
// with source, first-seen, count and name in the wide view. Series events
// (the newer API's deduplication) report their last observation and count.
import type { KindPrinter, Obj } from './types.ts';
import { int, str } from './helpers.ts';
import { translateTimestampSince, parseTimestamp } from './time.ts';

const nonEmpty = (...values: unknown[]): string => str(values.find((v) => v != null && v !== ''));

/**
 * events.k8s.io/v1 names the same facts differently; map them onto the core
 * shape so one printer serves both (upstream converts both to one internal type).
 */
export function eventsV1ToCore(ev: Obj): Obj {
  return {
    metadata: ev?.metadata,
    involvedObject: ev?.regarding ?? {},
    reason: ev?.reason,
    message: ev?.note,
    type: ev?.type,
    firstTimestamp: ev?.deprecatedFirstTimestamp,
    lastTimestamp: ev?.deprecatedLastTimestamp,
    count: ev?.deprecatedCount,
    source: ev?.deprecatedSource,
    eventTime: ev?.eventTime,
    series: ev?.series,
    reportingComponent: ev?.reportingController,
    reportingInstance: ev?.reportingInstance,
  };
}

interface EventTimes {
  firstSeen: string;
  lastSeen: string;
  count: number;
}

function eventTimes(ev: Obj, now: number): EventTimes {
  const firstSeen = parseTimestamp(ev?.firstTimestamp) !== undefined
    ? translateTimestampSince(ev.firstTimestamp, now)
    : translateTimestampSince(ev?.eventTime, now);
  let lastSeen = parseTimestamp(ev?.lastTimestamp) !== undefined ? translateTimestampSince(ev.lastTimestamp, now) : firstSeen;
  let count = int(ev?.count);
  if (ev?.series) {
    lastSeen = translateTimestampSince(ev.series.lastObservedTime, now);
    count = int(ev.series.count);
  } else if (count === 0) {
    count = 1; // singleton events of the newer API carry no count
  }
  return { firstSeen, lastSeen, count };
}

/** "kind/name" in lower case, or just the kind when the object has no name. */
function eventTarget(ev: Obj): string {
  const kind = str(ev?.involvedObject?.kind).toLowerCase();
  const name = str(ev?.involvedObject?.name);
  return name ? `${kind}/${name}` : kind;
}

/** "component, host", each falling back to the reporting controller/instance. */
function eventSource(ev: Obj): string {
  const component = nonEmpty(ev?.source?.component, ev?.reportingComponent);
  const instance = nonEmpty(ev?.source?.host, ev?.reportingInstance);
  return instance ? `${component}, ${instance}` : component;
}

interface EventView {
  ev: Obj;
  times: EventTimes;
}

function makeEventPrinter(normalize: (ev: Obj) => Obj): KindPrinter<EventView> {
  return {
    view: (obj, ctx) => {
      const ev = normalize(obj);
      return { ev, times: eventTimes(ev, ctx.now) };
    },
    columns: [
      { name: 'Last Seen', description: 'Time since the event was last observed.', cell: (v) => v.times.lastSeen },
      { name: 'Type', description: 'Normal or Warning.', cell: (v) => str(v.ev?.type) },
      { name: 'Reason', description: 'Short machine-readable reason.', cell: (v) => str(v.ev?.reason) },
      { name: 'Object', description: 'The object the event is about.', cell: (v) => eventTarget(v.ev) },
      { name: 'Subobject', priority: 1, description: 'The part of the object (e.g. a container).', cell: (v) => str(v.ev?.involvedObject?.fieldPath) },
      { name: 'Source', priority: 1, description: 'The component that reported the event.', cell: (v) => eventSource(v.ev) },
      { name: 'Message', description: 'Human-readable description.', cell: (v) => str(v.ev?.message).trim() },
      { name: 'First Seen', priority: 1, description: 'Time since the event was first observed.', cell: (v) => v.times.firstSeen },
      { name: 'Count', priority: 1, description: 'How many times the event occurred.', cell: (v) => v.times.count },
      { name: 'Name', priority: 1, format: 'name', description: 'Name of the event object.', cell: (v) => str(v.ev?.metadata?.name) },
    ],
  };
}

export const eventPrinter = makeEventPrinter((ev) => ev) as KindPrinter;
export const eventsV1Printer = makeEventPrinter(eventsV1ToCore) as KindPrinter;
