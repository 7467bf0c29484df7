"""The T-SQL script engine: load, split, classify and run batches like sqlcmd."""
