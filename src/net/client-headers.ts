/**
 * Headers the operator's HTTP client sets itself (framing and connection handling): a header a
 * user configures, for a metrics source or a webhook target, must not replace them.
 */
export const CLIENT_SET_HEADERS = [
  'host',
  'content-type',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
] as const;
