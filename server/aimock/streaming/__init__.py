"""When each streamed event goes out (pacing) and how it looks on the wire (framers)."""
