/** The largest reservation of real disk a test may make, in bytes (see reservation-guard.mjs). */
export declare const MAX_TEST_RESERVATION: number;
/** Puts the guard on every memmap.node this process loads from now on (once per process). */
export declare function installReservationGuard(): void;
