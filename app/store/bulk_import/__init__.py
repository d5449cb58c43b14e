"""The NDJSON bulk import of a store's customers, orders and cases.

importer.import_ndjson is the way in. records.py holds the line schemas; lines.py reads and
validates lines into batches, pipeline.py writes the batches in order and report.py answers.
A batch is written either by the sync API's writers (model_writer.py) or, on PostgreSQL, set-based
(pg_writer.py, with pg_batch.py, phone_cache.py, staging.py and statements.py)."""
