"""Drift detection: is the mock still what the real API returns, and what the SDKs read?

`aimock drift` sends the same canonical requests to aimock and compares the answers' shapes
with captured real answers (`--against DIR`, shipped under `drift/captures/`), and parses
every answer with the official SDK's own types. See docs/drift.md."""
