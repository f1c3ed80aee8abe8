/** The document: HTTP API schemas (OpenAPI and JSON Schemas are generated from them), page furniture, HTML tables, media types. */
export * from './api-schemas.ts';
export * from './furniture.ts';
export * from './html-table.ts';
export * from './media-type.ts';
