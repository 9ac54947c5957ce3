"""The web workspace: server-rendered pages (Jinja, htmx for partial updates) served by
``clearlane serve`` beside the API, over the same services and permissions.

Pages work without JavaScript for reading; every asset is served by the app itself (htmx from
npm, pinned in package.json), never from a CDN. Texts come from one message catalogue per
language (``messages/<lang>.yaml``, English as the fallback).
"""
