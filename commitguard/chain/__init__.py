"""Per-package chains of history: who vouched for each link (``annotate``), and
the newest revision whose chains are all trusted (``pin``)."""
