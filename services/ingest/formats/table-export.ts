/**
 * One extracted table as a file: CSV, JSON or Parquet, through nodejs-polars (the design's named
 * dependency; it writes Parquet that pandas, DuckDB, Spark and polars read). Every column is a
 * string column: OCR'd cells are text ("1,200", "12 %", "—"), and guessing types here would turn
 * some of them into wrong numbers; readers cast what they know to be numbers.
 */
import { createRequire } from 'node:module';
import type pl from 'nodejs-polars';
import type { ExtractedTable } from './tables.ts';

// Loaded on the first export, not at start-up: polars' native library adds ~20 MB of resident
// memory to every process that imports this module (ingest), and most never export a table.
const requireHere = createRequire(import.meta.url);
let polars: typeof pl | undefined;
const loadPolars = (): typeof pl => (polars ??= requireHere('nodejs-polars') as typeof pl);

export const TABLE_FORMATS = ['csv', 'json', 'parquet'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

export const TABLE_MEDIA_TYPES: Record<TableFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

export function tableFrame(t: ExtractedTable): pl.DataFrame {
  const p = loadPolars();
  return p.DataFrame(
    t.columns.map((name, k) =>
      p.Series(
        name,
        t.rows.map((r) => r[k]),
        p.Utf8,
      ),
    ),
  );
}

export function exportTable(t: ExtractedTable, format: TableFormat): Buffer {
  if (format === 'json') {
    // Columns and rows as arrays: keeps column order and works for any column name.
    const { rows, ...info } = t;
    return Buffer.from(JSON.stringify({ ...info, rows }));
  }
  const df = tableFrame(t);
  return format === 'csv' ? df.writeCSV() : df.writeParquet();
}
