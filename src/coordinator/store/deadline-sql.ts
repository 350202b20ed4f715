/** The next deadline's heartbeat: the first entry of the deadline index (nodes_active_by_deadline). */
export const OLDEST_ACTIVE_HEARTBEAT_SQL = "SELECT min(last_heartbeat) AS oldest FROM nodes WHERE status = 'Active'";
