"""Links of known URL shorteners resolved lazily to where they lead (``link_resolutions``).

Nothing here runs on the ingest path: the worker (and ``hubbub links resolve``) collects the
short links of stored posts, follows their redirects with the SSRF guard on every hop, and the
listening feature then shows the resolved domain wherever link domains are read.
"""
