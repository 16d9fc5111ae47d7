"""The load test: many pyws_shim connections in one process (see driver.py)."""
