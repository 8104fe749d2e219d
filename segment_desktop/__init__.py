"""Segment Desktop: connect an Elastic Path Commerce store to Segment."""

__version__ = "0.1.0"
#: The program name: settings, log and data folder names, and what messages identify.
APP_NAME = "segment-desktop"
