/** The largest reservation of real disk a test may make, in bytes (see reservation-guard.mjs). */
export declare const MAX_TEST_RESERVATION: number;
/** Wraps the addon's posix_fallocate with the guard (once per process); false where the addon does not load. */
export declare function installReservationGuard(): boolean;
