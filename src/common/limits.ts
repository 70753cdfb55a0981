/**
 * The node's fixed limits, defined once: the FIB, the engine, the counters and the link manager all
 * read them from here.
 */

/** Link ids are 0..MAX_LINK_ID (a FIB next hop is a uint16; 65535 is kept free). */
export const MAX_LINK_ID = 65534;
/** Port ids (underlay sockets, kernel-link TUNs) are 0..MAX_PORT_ID. */
export const MAX_PORT_ID = 65535;
/** Next hops of one ECMP route in the FIB. */
export const MAX_NEXTHOPS = 16;
