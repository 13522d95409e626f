"""Stateful services beside the providers: MCP and A2A (JSON-RPC over HTTP) and the vector
databases (REST). Each reads its own section of the stack spec (`aimock.models.services`);
see base.py for what a service gives the app and registry.py for the list."""
