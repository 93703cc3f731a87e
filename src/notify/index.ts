/**
 * Threshold notifications (TriggerOnThresholdReached → ActionEmail), as iTop sends them after
 * CheckStopWatchThresholds marks a threshold. See activate.ts.
 */
export { activateThresholdTriggers, appRootUrl, type ThresholdHit } from './activate.js';
export { TriggerError } from './triggers.js';
