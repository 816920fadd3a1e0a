"""I/O adapters around the sans-IO core. Nothing is imported here, so ``import ocppkit`` never
pulls in asyncio or websockets: import ``ocppkit.adapters.asyncio`` or
``ocppkit.adapters.websockets`` (``pip install "ocppkit[websockets]"``)."""
