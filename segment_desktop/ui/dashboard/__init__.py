"""The main window's live dashboard: pipeline header, delivery chart, what needs me, and the
searchable delivery log (see :mod:`.dashboard`)."""
