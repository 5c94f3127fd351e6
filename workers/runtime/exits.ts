/**
 * How a worker process ends, for whatever supervises it. Any other code (an
 * uncaught error exits 1) is a crash that a restart may heal.
 */
export const EXIT_SETTINGS = 2; // a setting or argument is wrong: the same start would fail again
export const EXIT_HALTED = 3; // every fold stopped itself (its log is not its view's; the log says which)
