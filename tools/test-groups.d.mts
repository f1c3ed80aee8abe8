/** Files that run one at a time with nothing else running, and why. */
export declare const ALONE: Record<string, string>;
/** 'unit' | 'integration' | 'alone' for a path like test/x.test.ts (relative to the repository root). */
export declare function groupOf(file: string): 'unit' | 'integration' | 'alone';
