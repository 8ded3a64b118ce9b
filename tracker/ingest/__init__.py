"""Ingestion: turn files, feeds, pages and transcripts into statement drafts, then store them."""
