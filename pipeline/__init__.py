"""codeset-pipeline: versioned snapshots of medical code sets and reports of what changed."""

__version__ = "0.1.0"
