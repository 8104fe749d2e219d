"""Segment Desktop: connect an Elastic Path Commerce store to Segment."""

__version__ = "0.1.0"
APP_NAME = "segment-desktop"
