"""HTTP transport: turns requests into calls on the services and reports, and back.

- :mod:`~playhead.http.ingest` — the bare-ASGI router of the ingest APIs (the hot path);
- :mod:`~playhead.http.collection_api` — the Collection API's endpoints;
- :mod:`~playhead.http.asgi` — bare-ASGI helpers shared by them;
- :mod:`~playhead.http.routes` — the Starlette routes of everything else;
- :mod:`~playhead.http.reports` — report endpoints;
- :mod:`~playhead.http.server` — limits on request heads (uvicorn's protocol, subclassed).
"""
