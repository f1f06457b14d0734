"""The conf schema: one checked dataclass per TOML section (imports nothing of Spark)."""
