"""Autobahn|Testsuite's fuzzingserver, driven through pyws_shim (see client.py)."""
