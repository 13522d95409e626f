"""Vector databases (Qdrant REST, Chroma HTTP v2, Pinecone) over one in-memory store.

See store.py (the store), filters.py, and one module per dialect."""
