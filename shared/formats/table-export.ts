/**
 * One extracted table as a file: CSV, JSON or Parquet, through nodejs-polars (the design's named
 * dependency; it writes Parquet that pandas, DuckDB, Spark and polars read). Every column is a
 * string column: OCR'd cells are text ("1,200", "12 %", "—"), and guessing types here would turn
 * some of them into wrong numbers; readers cast what they know to be numbers.
 */
import pl from 'nodejs-polars';
import type { ExtractedTable } from './tables.ts';

export const TABLE_FORMATS = ['csv', 'json', 'parquet'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

export const TABLE_MEDIA_TYPES: Record<TableFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

export function tableFrame(t: ExtractedTable): pl.DataFrame {
  return pl.DataFrame(t.columns.map((name, k) => pl.Series(name, t.rows.map((r) => r[k]), pl.Utf8)));
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
