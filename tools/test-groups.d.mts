/** Files that keep both cores busy with the CPU engine; they run beside integration files, weighted. */
export declare const HEAVY: Record<string, string>;
/** Files that run one at a time with nothing else running, and why. */
export declare const ALONE: Record<string, string>;
/** 'unit' | 'integration' | 'heavy' | 'alone' for a path like test/x.test.ts (relative to the repository root). */
export declare function groupOf(file: string): 'unit' | 'integration' | 'heavy' | 'alone';
