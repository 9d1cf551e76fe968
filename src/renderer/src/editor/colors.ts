/** Colours the editor uses beyond the catalogue's socket colours. */
export const UNKNOWN_SOCKET_COLOR = '#9ca3af';
export const MISSING_COLOR = '#ef4444';
