// Days as the worker writes them (UTC, YYYY-MM-DD), relative to now.

/** Today's date. */
export const today = () => daysAgo(0);

/** The date `n` days ago. */
export const daysAgo = (n) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
