"""tumorboard: multi-omics precision oncology for rare sarcomas."""

__version__ = "0.1.0"
