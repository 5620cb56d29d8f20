/** Types shared by the test-side helper (index.ts) and the child process (server.ts). */

export interface StandInConfig {
  /** chdb data folder (created if missing). */
  dataDir: string;
  /** The one user accepted. */
  username: string;
  password: string;
}

export interface LoggedRequest {
  method: string;
  /** URL path without the query string (`/`, `/ping`, ...). */
  path: string;
  /**
   * The SQL as the server assembled it: the `query` URL parameter (or multipart field), then a
   * newline and the request body when both are present, else the body (decompressed). '' for /ping.
   */
  query: string;
  /** The HTTP status answered. */
  status: number;
  /**
   * URL parameters as received (settings, `query_id`, `database`, `param_<name>`, ...), plus the
   * fields of a multipart/form-data body; `password` is left out.
   */
  params: Record<string, string>;
}
