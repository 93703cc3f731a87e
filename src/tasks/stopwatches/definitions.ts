/**
 * The SLA stopwatches of iTop's standard data model, as data: which classes carry them, in
 * which tables, in which lifecycle states each one runs, the thresholds CheckStopWatchThresholds checks,
 * the threshold actions, and the `ev_timeout` transitions those actions apply.
 *
 * Order matters: cron.php walks classes, then stopwatches, then thresholds in this order, and the
 * message lists what fired in that order. The real run issued, per pass,
 * `tto 75, tto 100, ttr 75, ttr 100` on UserRequest (sql-logs/general-cron-sla-stopwatch). The
 * reference install has no Incident (itop-incident-mgmt-itil not installed), so Incident's place after
 * UserRequest is not verified.
 */

/** A threshold action: the verb iTop calls on the object, with its parameters. */
export interface ApplyStimulusAction {
  readonly verb: 'ApplyStimulus';
  readonly stimulus: string;
}

export type ThresholdAction = ApplyStimulusAction;

export interface ThresholdDefinition {
  /** The XML `<threshold id>`: the columns are `<sw>_<index>_*` (the percent may differ; it is not needed here). */
  readonly index: number;
  /** Run in order before the threshold is marked. */
  readonly actions: readonly ThresholdAction[];
}

export interface StopwatchDefinition {
  /** The attribute code, prefix of the columns: `<code>_laststart`, `<code>_<i>_deadline`, ... */
  readonly code: string;
  /** The lifecycle states in which the stopwatch runs. */
  readonly runsIn: readonly string[];
  readonly thresholds: readonly ThresholdDefinition[];
}

export interface ClassDefinition {
  /** The iTop class, as written in the message and in `priv_changeop.objclass`. */
  readonly className: string;
  /** Parents first, then the class itself (for `target_class IN (...)` trigger lookups). */
  readonly classPath: readonly string[];
  /** The class's own table (holds `status` and the stopwatch columns), unprefixed. */
  readonly table: string;
  /** The root table (`ticket`: `ref`, `last_update`), joined on `id`, unprefixed. */
  readonly rootTable: string;
  readonly stopwatches: readonly StopwatchDefinition[];
  /** stimulus → (from state → to state). A state absent here does not accept the stimulus. */
  readonly transitions: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

const TIMEOUT: readonly ThresholdAction[] = [{ verb: 'ApplyStimulus', stimulus: 'ev_timeout' }];

/** 75 % warns (no action), 100 % escalates, for tto and ttr alike. */
const THRESHOLDS: readonly ThresholdDefinition[] = [
  { index: 75, actions: [] },
  { index: 100, actions: TIMEOUT },
];

/** The built-in definitions, in cron.php's iteration order. */
export const STOPWATCH_CLASSES: readonly ClassDefinition[] = [
  {
    className: 'UserRequest',
    classPath: ['Ticket', 'UserRequest'],
    table: 'ticket_request',
    rootTable: 'ticket',
    stopwatches: [
      { code: 'cumulatedpending', runsIn: ['pending'], thresholds: [] },
      { code: 'tto', runsIn: ['new', 'escalated_tto', 'approved'], thresholds: THRESHOLDS },
      {
        code: 'ttr',
        runsIn: ['new', 'escalated_tto', 'assigned', 'approved', 'escalated_ttr'],
        thresholds: THRESHOLDS,
      },
    ],
    transitions: {
      ev_timeout: { new: 'escalated_tto', approved: 'escalated_tto', assigned: 'escalated_ttr' },
    },
  },
  {
    className: 'Incident',
    classPath: ['Ticket', 'Incident'],
    table: 'ticket_incident',
    rootTable: 'ticket',
    stopwatches: [
      { code: 'cumulatedpending', runsIn: ['pending'], thresholds: [] },
      { code: 'tto', runsIn: ['new', 'escalated_tto'], thresholds: THRESHOLDS },
      { code: 'ttr', runsIn: ['new', 'escalated_tto', 'assigned', 'escalated_ttr'], thresholds: THRESHOLDS },
    ],
    transitions: {
      ev_timeout: { new: 'escalated_tto', assigned: 'escalated_ttr' },
    },
  },
];

/** The target state of `stimulus` from `state`, or undefined when the lifecycle does not allow it. */
export function targetState(def: ClassDefinition, stimulus: string, state: string): string | undefined {
  const byState = def.transitions[stimulus];
  return byState !== undefined && Object.hasOwn(byState, state) ? byState[state] : undefined;
}

/**
 * The stopwatches a state change would start or stop (running in one state and not the other). For every
 * built-in `ev_timeout` transition the list is empty, which is why an escalation writes no stopwatch
 * column: iTop's start/stop would need its working-hours computation and the SLT goals.
 */
export function stopwatchesChangingState(def: ClassDefinition, from: string, to: string): string[] {
  return def.stopwatches
    .filter((sw) => sw.runsIn.includes(from) !== sw.runsIn.includes(to))
    .map((sw) => sw.code);
}
