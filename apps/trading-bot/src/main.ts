// Placeholder entry until the app module lands in this commit series.
export {};
