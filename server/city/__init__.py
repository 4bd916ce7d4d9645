"""The city service (市级汇聚): every hall's event log on one PostgreSQL, the same figures.

A separate app of the same package: ``qrate city serve --db postgresql://...``. The
hall server never imports it (an import-linter contract holds that); it reuses only
pure leaves (``server.readside.figures``, ``server.i18n``). See docs/city.md.
"""
