"""Schemathesis hooks for OnSite's API (loaded by tests/api/schemathesis.toml)."""

import schemathesis
from hypothesis.internal import lambda_sources

# The phone's binary bodies (postcard sync messages, resumable blob chunks) are bytes like
# application/octet-stream.
schemathesis.serializer.alias("application/vnd.onsite.sync", "application/octet-stream")
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

# CPython 3.11 (Debian 12's Python) can raise "SystemError: AST constructor recursion depth
# mismatch" when Hypothesis parses a large source file deep in the stack, only to name a filter
# in a strategy's repr. The name is cosmetic: fall back to a generic one instead of failing the
# operation's run.
_describe = lambda_sources._lambda_description


def _lambda_description(f):
    try:
        return _describe(f)
    except SystemError:
        return "lambda: <source not parsed>"


lambda_sources._lambda_description = _lambda_description
