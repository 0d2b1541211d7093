// @ts-check
// The arguments the module takes as plain strings (`&str` parameters in src/lib.rs and
// src/host.rs), by class and method, or by function: the entry points check each is a string
// before the call (guard.mjs), with the TypeError the module gives for its other arguments
// ("id must be a string"). The module cannot check a `&str` itself: wasm-bindgen's glue copies
// whatever it is given as text (a number as an empty string, an object as garbage). Taking the
// text directly is a third of the price of a value read back with `as_string` (one crossing
// instead of three). test/args.test.mjs calls every method with bad arguments through the
// entry points: a string parameter missing here fails it.

/** @type {Record<string, Record<string, string[]>>} */
export const STRING_PARAMETERS = {
  JobManager: {
    executeJson: ['text'],
    ...Object.fromEntries(['jobPause', 'jobResume', 'jobCancel', 'jobComplete', 'jobFinalize', 'jobDismiss',
      'blockJobFinalize', 'blockJobDismiss'].map((m) => [m, ['id']])),
    ...Object.fromEntries(['blockJobPause', 'blockJobResume', 'blockJobCancel', 'blockJobComplete',
      'blockJobSetSpeed'].map((m) => [m, ['device']])),
    addImage: ['file'],
    verbAllowed: ['id', 'verb'],
    verbRefusal: ['id', 'verb'],
    runScenarioLine: ['line'],
    jobHandle: ['id'],
  },
  Replayer: {
    run: ['text'],
    runLine: ['line'],
  },
};

/** @type {Record<string, string[]>} */
export const STRING_FUNCTION_PARAMETERS = {
  replay: ['text'],
  compareTranscripts: ['expected', 'actual'],
};
