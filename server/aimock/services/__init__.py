"""Stateful surfaces (MCP, ...): JSON-RPC services with their own state, mounted beside the
providers. See base.py for what a service gives the app and registry.py for the list."""
