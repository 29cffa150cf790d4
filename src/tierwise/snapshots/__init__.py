"""The snapshot store: one immutable Parquet folder per evaluation run."""
