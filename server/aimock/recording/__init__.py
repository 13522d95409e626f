"""Record and proxy: a request no fixture answers goes to the real provider, its answer is
relayed to the client (streams as they arrive) and, in record mode, saved as an AIMock-format
fixture that answers the same request from then on."""
