"""The spec models: what a fixture file, a stack file and each service's section may say.

The lowest layer of the server: these modules import pydantic and each other, nothing else of
aimock (one documented exception: `stack.known_surfaces` asks the provider registry which
surface names exist). Everything that behaves (matching, chaos, the services) sits above.
"""
