"""One module per wire protocol; `registry.py` lists them."""
